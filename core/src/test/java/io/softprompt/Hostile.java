package io.softprompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;

/**
 * Hostile inputs for the property tests of every reader: a valid seed file mutated at random, at the
 * level of bytes (flips, cuts, insertions, lying lengths) and of JSON (a value replaced by a value of
 * another type, a huge or fractional number, a control character, a key removed or added), so that
 * the generated files reach past the first check of each reader.
 *
 * <p>The property every reader must keep: it returns a value, or throws {@link UserException} with a
 * one-line message of sane length; never another exception (an {@link OutOfMemoryError} included:
 * the tests run with a 2 GB heap, so an allocation sized by a lying header fails them).
 */
public final class Hostile {
    private Hostile() {}

    /** JSON values of every kind and every edge a reader might not expect. */
    static final List<JsonNode> VALUES = values();

    private static List<JsonNode> values() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        List<JsonNode> v = new ArrayList<>();
        v.add(f.nullNode());
        v.add(f.booleanNode(true));
        v.add(f.numberNode(0));
        v.add(f.numberNode(-1));
        v.add(f.numberNode(1));
        v.add(f.numberNode(5.7));
        v.add(f.numberNode(-0.0));
        v.add(f.numberNode(1e308));
        v.add(f.numberNode(Integer.MAX_VALUE));
        v.add(f.numberNode(2147483648L));
        v.add(f.numberNode(Long.MAX_VALUE));
        v.add(f.numberNode(Long.MIN_VALUE));
        v.add(f.numberNode(new BigInteger("123456789012345678901234567890")));
        v.add(f.textNode(""));
        v.add(f.textNode("5"));
        v.add(f.textNode("x".repeat(5000)));
        v.add(f.textNode("\u0000\n\r\u001b[31m\uFFFF"));
        v.add(f.textNode("../../etc/passwd"));
        v.add(f.textNode("{text}"));
        v.add(f.arrayNode());
        v.add(f.arrayNode().add(1).add(2));
        v.add(f.arrayNode().add(-1).add(Long.MAX_VALUE));
        v.add(f.objectNode());
        v.add(f.objectNode().put("a", 1));
        return List.copyOf(v);
    }

    /** A seed's bytes mutated: each try applies one to three mutations. */
    public static Arbitrary<byte[]> bytes(byte[] seed) {
        return Arbitraries.randomValue(r -> mutateBytes(seed, r));
    }

    /** A seed JSON document mutated as JSON (and now and then as bytes). */
    public static Arbitrary<byte[]> json(JsonNode seed) {
        return Arbitraries.randomValue(r -> {
            JsonNode copy = seed.deepCopy();
            int n = 1 + r.nextInt(3);
            for (int i = 0; i < n; i++) {
                copy = mutateJson(copy, r);
            }
            byte[] b = Json.write(copy).getBytes(StandardCharsets.UTF_8);
            return r.nextInt(8) == 0 ? mutateBytes(b, r) : b;
        });
    }

    /**
     * A safetensors file whose header JSON is mutated as JSON (then framed with its true length or, now
     * and then, a lying one) or whose bytes are mutated anywhere.
     */
    public static Arbitrary<byte[]> safetensors(byte[] seed) {
        long headerLen = ByteBuffer.wrap(seed, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] header = Arrays.copyOfRange(seed, 8, 8 + (int) headerLen);
        byte[] data = Arrays.copyOfRange(seed, 8 + (int) headerLen, seed.length);
        JsonNode tree;
        try {
            tree = Json.MAPPER.readTree(header);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
        return Arbitraries.randomValue(r -> {
            if (r.nextInt(3) == 0) {
                return mutateBytes(seed, r);
            }
            JsonNode t = tree.deepCopy();
            int n = 1 + r.nextInt(2);
            for (int i = 0; i < n; i++) {
                t = mutateJson(t, r);
            }
            byte[] h = Json.write(t).getBytes(StandardCharsets.UTF_8);
            long len = switch (r.nextInt(10)) {
                case 0 -> r.nextLong();
                case 1 -> h.length + 1 + r.nextInt(64);
                case 2 -> Integer.MAX_VALUE + (long) r.nextInt(16);
                default -> h.length;
            };
            byte[] d = r.nextInt(6) == 0 ? Arrays.copyOf(data, r.nextInt(data.length + 1)) : data;
            ByteBuffer b = ByteBuffer.allocate(8 + h.length + d.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(len).put(h).put(d);
            return b.array();
        });
    }

    static byte[] mutateBytes(byte[] seed, Random r) {
        byte[] b = seed.clone();
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n; i++) {
            if (b.length == 0) {
                b = new byte[] {(byte) r.nextInt(256)};
                continue;
            }
            switch (r.nextInt(7)) {
                case 0 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));          // a bit flipped
                case 1 -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);                  // a byte replaced
                case 2 -> b = Arrays.copyOf(b, r.nextInt(b.length));                      // cut short
                case 3 -> {                                                               // bytes inserted
                    int at = r.nextInt(b.length + 1);
                    byte[] ins = new byte[1 + r.nextInt(16)];
                    r.nextBytes(ins);
                    byte[] out = new byte[b.length + ins.length];
                    System.arraycopy(b, 0, out, 0, at);
                    System.arraycopy(ins, 0, out, at, ins.length);
                    System.arraycopy(b, at, out, at + ins.length, b.length - at);
                    b = out;
                }
                case 4 -> {                                                               // a 4- or 8-byte number lies
                    int w = r.nextBoolean() ? 4 : 8;
                    if (b.length >= w) {
                        int at = r.nextInt(b.length - w + 1);
                        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                        long v = switch (r.nextInt(4)) {
                            case 0 -> -1;
                            case 1 -> Integer.MAX_VALUE - r.nextInt(16);
                            case 2 -> 0x7FFFFFF8L;
                            default -> r.nextLong();
                        };
                        if (w == 4) {
                            bb.putInt(at, (int) v);
                        } else {
                            bb.putLong(at, v);
                        }
                    }
                }
                case 5 -> {                                                               // a run of bytes removed
                    int at = r.nextInt(b.length);
                    int len = Math.min(b.length - at, 1 + r.nextInt(32));
                    byte[] out = new byte[b.length - len];
                    System.arraycopy(b, 0, out, 0, at);
                    System.arraycopy(b, at + len, out, at, b.length - at - len);
                    b = out;
                }
                default -> {                                                              // not UTF-8 any more
                    b[r.nextInt(b.length)] = (byte) (0x80 | r.nextInt(0x40));
                }
            }
        }
        return b;
    }

    /** One JSON mutation: a value replaced, a key removed, a key added, or the whole document replaced. */
    static JsonNode mutateJson(JsonNode root, Random r) {
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        if (containers.isEmpty() || r.nextInt(20) == 0) {
            return VALUES.get(r.nextInt(VALUES.size())).deepCopy();
        }
        JsonNode c = containers.get(r.nextInt(containers.size()));
        JsonNode value = VALUES.get(r.nextInt(VALUES.size())).deepCopy();
        if (c instanceof ObjectNode o) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            int what = r.nextInt(6);
            if (names.isEmpty() || what == 0) {
                o.set(r.nextBoolean() ? "unexpected" : "\u0000k" + r.nextInt(100), value);
            } else if (what == 1) {
                o.remove(names.get(r.nextInt(names.size())));
            } else {
                o.set(names.get(r.nextInt(names.size())), value);
            }
        } else if (c instanceof ArrayNode a) {
            if (a.isEmpty() || r.nextInt(4) == 0) {
                a.add(value);
            } else if (r.nextInt(3) == 0) {
                a.remove(r.nextInt(a.size()));
            } else {
                a.set(r.nextInt(a.size()), value);
            }
        }
        return root;
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            if (n.isObject()) {
                for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                    collect(it.next().getValue(), out);
                }
            } else {
                n.forEach(x -> collect(x, out));
            }
        }
    }

    /**
     * Runs a reader on a hostile input: true when it returned, false when it refused with a
     * UserException; any other outcome fails, with the input's size and the exception, as does a
     * refusal whose message is not one line of sane length, or a read that took seconds.
     */
    public static boolean accepts(String what, int size, Callable<?> reader) {
        long t0 = System.nanoTime();
        try {
            reader.call();
            return true;
        } catch (UserException e) {
            String m = e.getMessage();
            if (m == null || m.isEmpty() || m.contains("\n") || m.length() > UserException.MAX_LENGTH) {
                throw new AssertionError(what + ": a refusal that is not one line of sane length: " + m);
            }
            return false;
        } catch (Throwable t) {
            throw new AssertionError(what + " (" + size + " bytes): " + t, t);
        } finally {
            double secs = (System.nanoTime() - t0) / 1e9;
            if (secs > 5) {
                throw new AssertionError(what + " (" + size + " bytes) took " + secs + " s");
            }
        }
    }
}
