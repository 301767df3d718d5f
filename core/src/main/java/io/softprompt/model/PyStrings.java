package io.softprompt.model;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods on a chat template's strings ({@code message.content.startswith('<tool')},
 * {@code .split('</think>')[-1]}, {@code .strip('\n')}), as jinja2 gives templates Python's own objects.
 * jinjava would call Java's methods instead (no {@code startswith}; {@code split} takes a regular
 * expression): this resolver answers every method call on a string, Python's semantics or one error
 * naming the method. No Java method of a string is reachable from a template.
 */
final class PyStrings extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
        if (!(base instanceof CharSequence) || method == null) {
            return null;
        }
        context.setPropertyResolved(true);
        try {
            return call(base.toString(), method.toString(), params == null ? new Object[0] : params);
        } catch (RuntimeException e) { // jinjava would swallow it: recorded as the render's fatal error
            JinjavaInterpreter.getCurrentMaybe().ifPresent(i -> i.addError(TemplateError.fromException(
                    new IllegalArgumentException(e.getMessage()))));
            return null;
        }
    }

    /** A Python str method on {@code s}; an unknown one is an error naming it. */
    static Object call(String s, String name, Object[] a) {
        switch (name) {
            case "startswith":
                return affix(s, a, true);
            case "endswith":
                return affix(s, a, false);
            case "strip":
                return strip(s, chars(a), true, true);
            case "lstrip":
                return strip(s, chars(a), true, false);
            case "rstrip":
                return strip(s, chars(a), false, true);
            case "split":
                return split(s, a.length > 0 ? a[0] : null, a.length > 1 ? number(a[1]) : -1);
            case "upper":
                return s.toUpperCase(Locale.ROOT);
            case "lower":
                return s.toLowerCase(Locale.ROOT);
            case "title":
                return title(s);
            case "capitalize":
                return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace":
                return replace(s, str(a, 0), str(a, 1), a.length > 2 ? number(a[2]) : -1);
            case "find":
                return (long) s.indexOf(str(a, 0));
            case "rfind":
                return (long) s.lastIndexOf(str(a, 0));
            case "count":
                return count(s, str(a, 0));
            case "join":
                return join(s, a.length > 0 ? a[0] : null);
            case "isspace":
                return !s.isEmpty() && s.chars().allMatch(PyStrings::space);
            case "isdigit":
                return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha":
                return !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "splitlines":
                return splitlines(s);
            default:
                throw new IllegalArgumentException("str has no method " + name + "()");
        }
    }

    /** Python's str.isspace for one character: Unicode whitespace and the space separators. */
    static boolean space(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    /** Python's str.strip family; chars null strips whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to && (chars == null ? space(s.charAt(from)) : chars.indexOf(s.charAt(from)) >= 0)) {
            from++;
        }
        while (right && to > from && (chars == null ? space(s.charAt(to - 1)) : chars.indexOf(s.charAt(to - 1)) >= 0)) {
            to--;
        }
        return s.substring(from, to);
    }

    private static int number(Object o) {
        if (!(o instanceof Number n)) {
            throw new IllegalArgumentException("a str method's count must be a number");
        }
        return n.intValue();
    }

    private static String chars(Object[] a) {
        return a.length == 0 || a[0] == null ? null : a[0].toString();
    }

    private static String str(Object[] a, int i) {
        if (a.length <= i || a[i] == null) {
            throw new IllegalArgumentException("a str method needs argument " + (i + 1));
        }
        return a[i].toString();
    }

    private static boolean affix(String s, Object[] a, boolean start) {
        Object p = a.length > 0 ? a[0] : null;
        if (p instanceof List<?> options) {
            for (Object o : options) {
                if (start ? s.startsWith(String.valueOf(o)) : s.endsWith(String.valueOf(o))) {
                    return true;
                }
            }
            return false;
        }
        String x = str(a, 0);
        return start ? s.startsWith(x) : s.endsWith(x);
    }

    /** Python's str.split: by a literal separator, or by runs of whitespace when none is given. */
    static List<String> split(String s, Object sep, int max) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && space(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    return out;
                }
                if (max >= 0 && out.size() == max) {
                    out.add(strip(s.substring(i), null, false, true));
                    return out;
                }
                int j = i;
                while (j < n && !space(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
        }
        String x = sep.toString();
        if (x.isEmpty()) {
            throw new IllegalArgumentException("str.split: empty separator");
        }
        int from = 0;
        int at;
        while ((max < 0 || out.size() < max) && (at = s.indexOf(x, from)) >= 0) {
            out.add(s.substring(from, at));
            from = at + x.length();
        }
        out.add(s.substring(from));
        return out;
    }

    /** Python's str.splitlines(): lines without their breaks, no empty last line for a trailing break. */
    static List<String> splitlines(String s) {
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ("\n\r\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029".indexOf(c) >= 0) {
                out.add(s.substring(from, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                from = i + 1;
            }
        }
        if (from < s.length()) {
            out.add(s.substring(from));
        }
        return out;
    }

    private static String replace(String s, String old, String now, int count) {
        if (count < 0) {
            return s.replace(old, now);
        }
        StringBuilder b = new StringBuilder();
        int from = 0;
        int at;
        int done = 0;
        while (done < count && !old.isEmpty() && (at = s.indexOf(old, from)) >= 0) {
            b.append(s, from, at).append(now);
            from = at + old.length();
            done++;
        }
        return b.append(s.substring(from)).toString();
    }

    private static long count(String s, String x) {
        if (x.isEmpty()) {
            return s.length() + 1L;
        }
        long n = 0;
        for (int at = s.indexOf(x); at >= 0; at = s.indexOf(x, at + x.length())) {
            n++;
        }
        return n;
    }

    private static String join(String s, Object items) {
        if (!(items instanceof Iterable<?> it)) {
            throw new IllegalArgumentException("str.join needs a list");
        }
        List<String> parts = new ArrayList<>();
        it.forEach(o -> parts.add(String.valueOf(o)));
        return String.join(s, parts);
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return b.toString();
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read only: nothing is resolved here
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return Collections.emptyIterator();
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
