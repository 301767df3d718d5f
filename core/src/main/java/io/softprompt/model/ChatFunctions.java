package io.softprompt.model;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What transformers adds to jinja2 for chat templates, and the Python a template uses that jinjava has
 * not: {@code raise_exception(msg)}, {@code strftime_now(fmt)}, step slices ({@code messages[::-1]},
 * rewritten by {@link ChatTemplate} into {@code py_slice(messages, none, none, -1)}), and the filters
 * {@code tojson} ({@code json.dumps(x, ensure_ascii=False)}: transformers' own) and {@code trim}
 * (Python's {@code str.strip}).
 */
public final class ChatFunctions {
    private ChatFunctions() {}

    /** A template's own refusal of a conversation ({@code raise_exception}): its message, shown as it is. */
    public static final class Refusal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refusal(String message) {
            super(message);
        }
    }

    /**
     * {@code raise_exception(message)}: the template refuses the conversation.
     *
     * @param message the template's words
     * @return never
     */
    public static Object raiseException(Object message) {
        throw new Refusal(String.valueOf(message));
    }

    /**
     * {@code strftime_now(format)}: the local time by a Python strftime format (the directives Llama 3's
     * templates use; another is kept as written).
     *
     * @param format the format
     * @return the time formatted
     */
    public static String strftimeNow(String format) {
        LocalDateTime t = LocalDateTime.now();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                b.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> b.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> b.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> b.append(t.getYear());
                case 'y' -> b.append(String.format("%02d", t.getYear() % 100));
                case 'H' -> b.append(String.format("%02d", t.getHour()));
                case 'M' -> b.append(String.format("%02d", t.getMinute()));
                case 'S' -> b.append(String.format("%02d", t.getSecond()));
                case 'b' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case '%' -> b.append('%');
                default -> b.append('%').append(d);
            }
        }
        return b.toString();
    }

    /**
     * Python's {@code seq[start:stop:step]} on a list or string (null bounds: the ends).
     *
     * @param seq a list or string
     * @param start first index, or null
     * @param stop end index, or null
     * @param step the step, not 0
     * @return the slice, of the same kind
     */
    public static Object pySlice(Object seq, Object start, Object stop, Object step) {
        List<Object> items = new ArrayList<>();
        if (seq instanceof CharSequence s) {
            s.codePoints().forEach(cp -> items.add(new String(Character.toChars(cp))));
        } else if (seq instanceof Iterable<?> it) {
            it.forEach(items::add);
        } else {
            throw new IllegalArgumentException("a slice needs a list or a string");
        }
        int n = items.size();
        int st = step == null ? 1 : ((Number) step).intValue();
        if (st == 0) {
            throw new IllegalArgumentException("slice step cannot be zero");
        }
        int a = bound(start, n, st > 0 ? 0 : n - 1, st);
        int z = bound(stop, n, st > 0 ? n : -1, st);
        List<Object> out = new ArrayList<>();
        for (int i = a; st > 0 ? i < z : i > z; i += st) {
            out.add(items.get(i));
        }
        if (seq instanceof CharSequence) {
            StringBuilder b = new StringBuilder();
            out.forEach(b::append);
            return b.toString();
        }
        return out;
    }

    private static int bound(Object v, int n, int dflt, int step) {
        if (v == null) {
            return dflt;
        }
        int i = ((Number) v).intValue();
        if (i < 0) {
            i += n;
        }
        return step > 0 ? Math.max(0, Math.min(i, n)) : Math.max(-1, Math.min(i, n - 1));
    }

    /** transformers' {@code tojson}: {@code json.dumps(x, ensure_ascii=False, indent=..., sort_keys=...)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            boolean sort = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            StringBuilder b = new StringBuilder();
            json(var, indent == null ? -1 : Integer.parseInt(indent.toString()), sort, 0, b);
            return b.toString();
        }
    }

    /** jinja2's {@code trim}: Python's {@code str.strip(chars)}. */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PyStrings.strip(var == null ? "" : var.toString(), args.length > 0 ? args[0] : null, true, true);
        }
    }

    /** json.dumps with Python's default separators (", ", ": "), or indented by {@code indent} spaces. */
    static void json(Object v, int indent, boolean sort, int depth, StringBuilder b) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Boolean x) {
            b.append(x ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float) {
            b.append(pyFloat(((Number) v).doubleValue()));
        } else if (v instanceof Number x) {
            b.append(x);
        } else if (v instanceof Map<?, ?> m) {
            Map<?, ?> entries = sort ? new TreeMap<>(m) : m;
            b.append('{');
            int i = 0;
            for (Map.Entry<?, ?> e : entries.entrySet()) {
                b.append(i++ == 0 ? "" : indent < 0 ? ", " : ",");
                newline(indent, depth + 1, b);
                string(String.valueOf(e.getKey()), b);
                b.append(": ");
                json(e.getValue(), indent, sort, depth + 1, b);
            }
            if (!m.isEmpty()) {
                newline(indent, depth, b);
            }
            b.append('}');
        } else if (v instanceof Iterable<?> it) {
            List<Object> items = new ArrayList<>();
            it.forEach(items::add);
            b.append('[');
            for (int i = 0; i < items.size(); i++) {
                b.append(i == 0 ? "" : indent < 0 ? ", " : ",");
                newline(indent, depth + 1, b);
                json(items.get(i), indent, sort, depth + 1, b);
            }
            if (!items.isEmpty()) {
                newline(indent, depth, b);
            }
            b.append(']');
        } else {
            string(v.toString(), b);
        }
    }

    private static void newline(int indent, int depth, StringBuilder b) {
        if (indent >= 0) {
            b.append('\n').append(String.join("", Collections.nCopies(indent * depth, " ")));
        }
    }

    private static void string(String s, StringBuilder b) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> b.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        b.append('"');
    }

    /** Python's repr of a float as json.dumps writes it. */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        java.math.BigDecimal bd = new java.math.BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale();
        String sign = d < 0 ? "-" : "";
        if (exp < -4 || exp >= 16) {
            return sign + digits.charAt(0) + (digits.length() > 1 ? "." + digits.substring(1) : "") + "e"
                    + (exp < 0 ? "-" : "+") + String.format(Locale.ROOT, "%02d", Math.abs(exp));
        }
        String plain = bd.toPlainString();
        return sign + (plain.contains(".") ? plain : plain + ".0");
    }
}
