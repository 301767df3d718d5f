package io.softprompt.safetensors;

import io.softprompt.util.UserException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The part of Python's pickle that {@code torch.save} writes for tensors and state dicts, read as data
 * and never executed: a small stack machine over an allow-list of opcodes and of globals (the tensor
 * rebuilders, the storage types, {@code collections.OrderedDict}). Anything else — another global,
 * {@code os.system}, an opcode that builds arbitrary objects — is refused in one line naming it, as
 * {@code torch.load(weights_only=True)} refuses it, before anything is built.
 *
 * <p>Python values become Java values: str → String, int → Long, float → Double, bool → Boolean,
 * None → null, tuple and list → List, dict and OrderedDict → LinkedHashMap, a tensor → {@link Tensor}.
 */
final class TorchPickle {
    /** A storage the archive holds as {@code data/<key>}: its element type and element count. */
    record Storage(String key, String dtype, long numel) {}

    /** A tensor: a view of a storage from {@code offset} with its shape and strides (in elements). */
    record Tensor(Storage storage, long offset, long[] shape, long[] stride) {}

    /** A Python global the stream names, allowed by {@link #GLOBALS}. */
    private record Global(String module, String name) {}

    /** Storage classes → safetensors dtype names. */
    static final Map<String, String> STORAGES = Map.ofEntries(Map.entry("FloatStorage", "F32"), Map.entry("HalfStorage", "F16"),
            Map.entry("BFloat16Storage", "BF16"), Map.entry("DoubleStorage", "F64"), Map.entry("LongStorage", "I64"),
            Map.entry("IntStorage", "I32"), Map.entry("ShortStorage", "I16"), Map.entry("CharStorage", "I8"),
            Map.entry("ByteStorage", "U8"), Map.entry("BoolStorage", "BOOL"));

    private static final Set<String> GLOBALS = Set.of("torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
            "collections.OrderedDict");

    /** Nesting and memo limits: a state dict needs a few levels and one entry per object. */
    private static final int MAX_STACK = 1 << 20;

    private final ByteBuffer in;
    private final String source;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private TorchPickle(byte[] data, String source) {
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
    }

    /**
     * The value a pickle stream holds.
     *
     * @param data the stream ({@code data.pkl} of a torch archive)
     * @param source how errors name it
     * @return the value
     */
    static Object read(byte[] data, String source) {
        try {
            return new TorchPickle(data, source).run();
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException | ClassCastException
                 | NegativeArraySizeException | NullPointerException e) { // a None where a value must be, and the like
            throw new UserException(source + ": a damaged pickle (it ends early or does not add up)");
        }
    }

    private Object run() {
        while (true) {
            int op = in.get() & 0xFF;
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = in.get() & 0xFF;
                    if (v > 5) {
                        throw refuse("pickle protocol " + v);
                    }
                }
                case 0x95 -> in.getLong(); // FRAME: a length hint
                case '.' -> { // STOP
                    if (stack.size() != 1) {
                        throw refuse("a stream that ends with " + stack.size() + " values");
                    }
                    return stack.get(0);
                }
                case 'c' -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    String name = (String) pop();
                    push(global((String) pop(), name));
                }
                case 'q' -> memo.put((long) (in.get() & 0xFF), top()); // BINPUT
                case 'r' -> memo.put(in.getInt() & 0xFFFFFFFFL, top()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), top()); // MEMOIZE
                case 'h' -> push(memo((long) (in.get() & 0xFF))); // BINGET
                case 'j' -> push(memo(in.getInt() & 0xFFFFFFFFL)); // LONG_BINGET
                case '(' -> marks.add(stack.size()); // MARK
                case ')' -> push(List.of()); // EMPTY_TUPLE
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 't' -> push(java.util.Collections.unmodifiableList(popMark())); // TUPLE
                case 'l' -> push(new ArrayList<>(popMark())); // LIST
                case 0x85 -> push(Arrays.asList(pop())); // TUPLE1
                case 0x86 -> { // TUPLE2
                    Object b = pop();
                    push(Arrays.asList(pop(), b));
                }
                case 0x87 -> { // TUPLE3
                    Object c = pop();
                    Object b = pop();
                    push(Arrays.asList(pop(), b, c));
                }
                case 'd' -> push(dict(popMark(), new LinkedHashMap<>())); // DICT
                case 'a' -> { // APPEND
                    Object v = pop();
                    list(top()).add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    list(top()).addAll(items);
                }
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    map(top()).put(k, v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    dict(items, map(top()));
                }
                case 'X' -> push(text(in.getInt() & 0xFFFFFFFFL)); // BINUNICODE
                case 0x8c -> push(text(in.get() & 0xFF)); // SHORT_BINUNICODE
                case 0x8d -> push(text(in.getLong())); // BINUNICODE8
                case 'J' -> push((long) in.getInt()); // BININT
                case 'K' -> push((long) (in.get() & 0xFF)); // BININT1
                case 'M' -> push((long) (in.getShort() & 0xFFFF)); // BININT2
                case 0x8a -> push(long1(in.get() & 0xFF)); // LONG1: n bytes, two's complement
                case 'N' -> push(null); // NONE
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 'G' -> push(in.order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT
                case 'Q' -> push(storage(pop())); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    if (!(args instanceof List<?> list)) {
                        throw refuse("a call whose arguments are not a tuple");
                    }
                    push(reduce(pop(), list));
                }
                case 'b' -> pop(); // BUILD: an OrderedDict's _metadata; the state is dropped, nothing is set
                default -> throw refuse("pickle opcode 0x" + Integer.toHexString(op) + " ('" + (char) op + "')");
            }
            in.order(ByteOrder.LITTLE_ENDIAN);
            if (stack.size() > MAX_STACK || memo.size() > MAX_STACK) {
                throw refuse("a pickle of more than " + MAX_STACK + " values");
            }
        }
    }

    private Global global(String module, String name) {
        if (module.equals("torch") && STORAGES.containsKey(name) || GLOBALS.contains(module + "." + name)) {
            return new Global(module, name);
        }
        throw refuse("the global " + UserException.quote(module + "." + name)
                + " (only tensors, storages and OrderedDict are read; nothing is ever run)");
    }

    private Object reduce(Object callable, List<?> args) {
        if (!(callable instanceof Global g)) {
            throw refuse("a call of something that is not an allowed global");
        }
        switch (g.module() + "." + g.name()) {
            case "collections.OrderedDict" -> {
                if (!args.isEmpty()) {
                    throw refuse("OrderedDict with arguments");
                }
                return new LinkedHashMap<>();
            }
            case "torch._utils._rebuild_parameter" -> {
                return (Tensor) args.get(0);
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                Storage s = (Storage) args.get(0);
                long offset = (Long) args.get(1);
                long[] shape = longs(args.get(2));
                long[] stride = longs(args.get(3));
                if (shape.length != stride.length || offset < 0) {
                    throw refuse("a tensor whose shape and strides disagree");
                }
                return new Tensor(s, offset, shape, stride);
            }
            default -> throw refuse("a call of " + g.module() + "." + g.name());
        }
    }

    /** A persistent id: ('storage', StorageClass, key, location, numel). */
    private Storage storage(Object pid) {
        List<?> t = (List<?>) pid;
        if (t.size() != 5 || !"storage".equals(t.get(0)) || !(t.get(1) instanceof Global g) || !STORAGES.containsKey(g.name())) {
            throw refuse("a persistent id that is not a tensor storage");
        }
        String key = (String) t.get(2);
        if (!key.matches("[A-Za-z0-9_]{1,40}")) {
            throw refuse("a storage key " + UserException.quote(key));
        }
        long numel = (Long) t.get(4);
        if (numel < 0) {
            throw refuse("a storage of " + numel + " elements");
        }
        return new Storage(key, STORAGES.get(g.name()), numel);
    }

    private static long[] longs(Object tuple) {
        List<?> l = (List<?>) tuple;
        long[] out = new long[l.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (Long) l.get(i);
        }
        return out;
    }

    private static LinkedHashMap<Object, Object> dict(List<Object> items, Map<Object, Object> into) {
        if (items.size() % 2 != 0) {
            throw new ClassCastException("odd items");
        }
        for (int i = 0; i < items.size(); i += 2) {
            into.put(items.get(i), items.get(i + 1));
        }
        return (LinkedHashMap<Object, Object>) into;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return (List<Object>) (ArrayList<Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> map(Object o) {
        return (LinkedHashMap<Object, Object>) o;
    }

    private String line() {
        StringBuilder sb = new StringBuilder();
        for (int c = in.get(); c != '\n'; c = in.get()) {
            if (sb.length() > 200) {
                throw refuse("a global name of more than 200 characters");
            }
            sb.append((char) (c & 0xFF));
        }
        return sb.toString();
    }

    private String text(long length) {
        if (length < 0 || length > in.remaining()) {
            throw refuse("a string longer than the stream");
        }
        byte[] b = new byte[(int) length];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private Long long1(int n) {
        if (n > 8) {
            throw refuse("an integer of " + n + " bytes");
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (in.get() & 0xFFL) << (8 * i);
        }
        if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) {
            v -= 1L << (8 * n); // two's complement of n bytes
        }
        return v;
    }

    private Object memo(long key) {
        if (!memo.containsKey(key)) {
            throw refuse("a memo entry that was never stored");
        }
        return memo.get(key);
    }

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty() || !marks.isEmpty() && marks.get(marks.size() - 1) >= stack.size()) {
            throw refuse("a value taken from an empty stack");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object top() {
        if (stack.isEmpty()) {
            throw refuse("a value taken from an empty stack");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw refuse("a mark that was never set");
        }
        int at = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(at, stack.size()));
        stack.subList(at, stack.size()).clear();
        return items;
    }

    private UserException refuse(String what) {
        return new UserException(source + ": refused " + what + " in its pickle");
    }
}
