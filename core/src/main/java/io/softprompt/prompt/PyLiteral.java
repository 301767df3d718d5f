package io.softprompt.prompt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Python literals a .npy header is written in (numpy.lib.format writes {@code repr} of a dict and
 * reads it back with {@code ast.literal_eval}): dicts, tuples, lists, strings in single or double
 * quotes, whole numbers, True, False and None, with Python's spacing and trailing commas. Anything
 * else is an {@link IllegalArgumentException} whose message says what and where, quoting nothing of
 * the input. Nesting is bounded, so no input can exhaust the stack.
 */
final class PyLiteral {
    /** A Python tuple (a List would not say which brackets it had). */
    record Tuple(List<Object> items) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < items.size(); i++) {
                sb.append(i > 0 ? ", " : "").append(items.get(i) instanceof String s ? "'" + s + "'" : items.get(i));
            }
            return sb.append(items.size() == 1 ? ",)" : ")").toString();
        }
    }

    private static final int MAX_DEPTH = 16;
    private static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private final String s;
    private int at;

    private PyLiteral(String s) {
        this.s = s;
    }

    /** The value of one literal, surrounded by nothing but white space. */
    static Object parse(String text) {
        PyLiteral p = new PyLiteral(text);
        Object v = p.value(0);
        p.space();
        if (p.at != text.length()) {
            throw p.fail("unexpected text after the literal");
        }
        return v == NONE ? null : v;
    }

    private Object value(int depth) {
        if (depth > MAX_DEPTH) {
            throw fail("nested too deeply");
        }
        space();
        if (at >= s.length()) {
            throw fail("unexpected end");
        }
        char c = s.charAt(at);
        switch (c) {
            case '{':
                return dict(depth);
            case '(':
                return sequence(depth, ')', true);
            case '[':
                return sequence(depth, ']', false);
            case '\'':
            case '"':
                return string();
            default:
                break;
        }
        if (c == '-' || c == '+' || Character.isDigit(c)) {
            return integer();
        }
        if (word("True")) {
            return Boolean.TRUE;
        }
        if (word("False")) {
            return Boolean.FALSE;
        }
        if (word("None")) {
            return NONE;
        }
        throw fail("not a Python literal");
    }

    private Map<String, Object> dict(int depth) {
        at++; // {
        Map<String, Object> m = new LinkedHashMap<>();
        while (true) {
            space();
            if (peek('}')) {
                at++;
                return m;
            }
            Object k = value(depth + 1);
            if (!(k instanceof String key)) {
                throw fail("a dict key that is not a string");
            }
            space();
            expect(':');
            Object v = value(depth + 1);
            if (m.containsKey(key)) {
                throw fail("a key twice");
            }
            m.put(key, v == NONE ? null : v);
            space();
            if (peek(',')) {
                at++;
            } else if (!peek('}')) {
                throw fail("expected ',' or '}'");
            }
        }
    }

    private Object sequence(int depth, char close, boolean tuple) {
        at++; // ( or [
        List<Object> items = new ArrayList<>();
        boolean comma = false;
        while (true) {
            space();
            if (peek(close)) {
                at++;
                if (tuple && items.size() == 1 && !comma) {
                    return items.get(0); // (x) is x, not a tuple
                }
                List<Object> frozen = Collections.unmodifiableList(items);
                return tuple ? new Tuple(frozen) : frozen;
            }
            Object v = value(depth + 1);
            items.add(v == NONE ? null : v);
            space();
            if (peek(',')) {
                at++;
                comma = true;
            } else if (!peek(close)) {
                throw fail("expected ',' or '" + close + "'");
            }
        }
    }

    private String string() {
        char q = s.charAt(at++);
        StringBuilder sb = new StringBuilder();
        while (at < s.length()) {
            char c = s.charAt(at++);
            if (c == q) {
                return sb.toString();
            }
            if (c == '\n') {
                break;
            }
            if (c == '\\') {
                if (at >= s.length()) {
                    break;
                }
                char e = s.charAt(at++);
                switch (e) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    case 'r' -> sb.append('\r');
                    case '0' -> sb.append('\0');
                    case '\\', '\'', '"' -> sb.append(e);
                    default -> throw fail("an escape sequence this reader does not take");
                }
                continue;
            }
            sb.append(c);
        }
        throw fail("a string that does not end");
    }

    private Long integer() {
        int start = at;
        if (s.charAt(at) == '-' || s.charAt(at) == '+') {
            at++;
        }
        int digits = at;
        while (at < s.length() && (Character.isDigit(s.charAt(at)) || s.charAt(at) == '_')) {
            at++;
        }
        if (at == digits || at < s.length() && (s.charAt(at) == '.' || s.charAt(at) == 'e' || s.charAt(at) == 'E'
                || s.charAt(at) == 'j' || Character.isLetter(s.charAt(at)))) {
            throw fail("a number that is not a whole number");
        }
        String t = s.substring(start, at).replace("_", "");
        if (t.length() > 19) {
            throw fail("a whole number too large");
        }
        try {
            return Long.parseLong(t.startsWith("+") ? t.substring(1) : t);
        } catch (NumberFormatException e) {
            throw fail("a whole number too large");
        }
    }

    private boolean word(String w) {
        if (s.startsWith(w, at) && (at + w.length() == s.length() || !Character.isLetterOrDigit(s.charAt(at + w.length()))
                && s.charAt(at + w.length()) != '_')) {
            at += w.length();
            return true;
        }
        return false;
    }

    private void space() {
        while (at < s.length() && (s.charAt(at) == ' ' || s.charAt(at) == '\t' || s.charAt(at) == '\n'
                || s.charAt(at) == '\r')) {
            at++;
        }
    }

    private boolean peek(char c) {
        return at < s.length() && s.charAt(at) == c;
    }

    private void expect(char c) {
        if (!peek(c)) {
            throw fail("expected '" + c + "'");
        }
        at++;
    }

    private IllegalArgumentException fail(String what) {
        return new IllegalArgumentException(what + " at character " + (at + 1));
    }
}
