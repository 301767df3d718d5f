package io.softprompt.model;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A chat template's source made ready for jinjava, where jinja2 and jinjava read the same text
 * differently: line breaks as jinja2 normalises them (every break "\n", one trailing break dropped),
 * Python's step slices ({@code messages[::-1]}, which jinjava cannot parse) as {@code py_slice(...)}
 * calls, and keyword arguments' values in parentheses ({@code namespace(i=messages|length - 1)}: jinjava
 * applies the "- 1" to the named parameter instead of to its value). Only text inside tags changes.
 */
final class JinjaSource {
    private static final Pattern TAG = Pattern.compile("\\{[{%].*?[}%]}", Pattern.DOTALL);
    private static final Pattern STEP_SLICE = Pattern.compile("\\[\\s*(-?\\d+)?\\s*:\\s*(-?\\d+)?\\s*:\\s*(-?\\d+)\\s*]");

    private JinjaSource() {}

    /** The source as jinjava should read it. */
    static String prepared(String source) {
        String s = String.join("\n", PyStrings.splitlines(source));
        Matcher tags = TAG.matcher(s);
        StringBuilder b = new StringBuilder();
        while (tags.find()) {
            tags.appendReplacement(b, Matcher.quoteReplacement(keywordValuesParenthesised(stepSlicesAsCalls(tags.group()))));
        }
        tags.appendTail(b);
        return b.toString();
    }

    /**
     * The filters ({@code x | name}) and tests ({@code x is name}, {@code is not name}) the template's tags
     * use, outside string literals.
     */
    static java.util.Set<String> names(String source, boolean filters) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        Matcher tags = TAG.matcher(source);
        Pattern p = filters ? Pattern.compile("\\|\\s*([A-Za-z_]\\w*)") : Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_]\\w*)");
        while (tags.find()) {
            Matcher m = p.matcher(withoutStrings(tags.group()));
            while (m.find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    /** The tag with every string literal emptied (its quotes kept). */
    private static String withoutStrings(String tag) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < tag.length(); i++) {
            char c = tag.charAt(i);
            out.append(c);
            if (c == '\'' || c == '"') {
                int j = literalEnd(tag, i);
                out.append(j > i ? String.valueOf(c) : "");
                i = j;
            }
        }
        return out.toString();
    }

    /** Where the string literal opened at {@code i} closes (or the tag's last index). */
    private static int literalEnd(String tag, int i) {
        char q = tag.charAt(i);
        int j = i + 1;
        while (j < tag.length() && tag.charAt(j) != q) {
            j += tag.charAt(j) == '\\' ? 2 : 1;
        }
        return Math.min(j, tag.length() - 1);
    }

    /** {@code primary[a:b:c]} as {@code py_slice(primary, a, b, c)}; the primary read backwards from '['. */
    static String stepSlicesAsCalls(String tag) {
        String t = tag;
        Matcher m = STEP_SLICE.matcher(t);
        int from = 0;
        while (m.find(from)) {
            int start = primaryStart(t, m.start());
            if (start == m.start()) {
                from = m.end();
                continue;
            }
            String call = "py_slice(" + t.substring(start, m.start()) + ", " + orNone(m.group(1)) + ", " + orNone(m.group(2))
                    + ", " + m.group(3) + ")";
            t = t.substring(0, start) + call + t.substring(m.end());
            from = start + call.length();
            m = STEP_SLICE.matcher(t);
        }
        return t;
    }

    private static String orNone(String bound) {
        return bound == null ? "none" : bound;
    }

    /** The start of the primary expression ending just before {@code end}: names, dots, bracket groups, calls. */
    private static int primaryStart(String t, int end) {
        int i = end - 1;
        while (i >= 0) {
            char c = t.charAt(i);
            if (c == ']' || c == ')') {
                char open = c == ']' ? '[' : '(';
                int depth = 0;
                while (i >= 0) {
                    char d = t.charAt(i);
                    depth += d == c ? 1 : d == open ? -1 : 0;
                    if (depth == 0) {
                        break;
                    }
                    i--;
                }
                i--;
            } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
                i--;
            } else {
                break;
            }
        }
        return i + 1;
    }

    /**
     * Inside a call's parentheses, {@code name=value} becomes {@code name=(value)}: the value runs to the
     * next comma or closing bracket at its own depth; string literals are copied as they are.
     */
    static String keywordValuesParenthesised(String tag) {
        StringBuilder out = new StringBuilder(tag.length() + 8);
        int depth = 0;
        // per depth, whether a keyword value is open there (at most one per depth at a time)
        boolean[] open = new boolean[tag.length() + 2];
        for (int i = 0; i < tag.length(); i++) {
            char c = tag.charAt(i);
            if (c == '\'' || c == '"') {
                int j = literalEnd(tag, i);
                out.append(tag, i, j + 1);
                i = j;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
                open[depth] = false;
                out.append(c);
                continue;
            }
            if ((c == ')' || c == ']' || c == '}' || c == ',') && depth > 0 && open[depth]) {
                out.append(')');
                open[depth] = false;
            }
            if (c == ')' || c == ']' || c == '}') {
                depth = Math.max(0, depth - 1);
            }
            out.append(c);
            boolean keyword = c == '=' && depth > 0 && !open[depth] && i + 1 < tag.length() && tag.charAt(i + 1) != '='
                    && i > 0 && "=!<>".indexOf(tag.charAt(i - 1)) < 0 && identifierBefore(tag, i);
            if (keyword) {
                out.append('(');
                open[depth] = true;
            }
        }
        return out.toString();
    }

    private static boolean identifierBefore(String s, int at) {
        int i = at - 1;
        while (i >= 0 && s.charAt(i) == ' ') {
            i--;
        }
        int end = i;
        while (i >= 0 && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) {
            i--;
        }
        if (end == i || Character.isDigit(s.charAt(i + 1))) {
            return false;
        }
        while (i >= 0 && s.charAt(i) == ' ') {
            i--;
        }
        return i >= 0 && (s.charAt(i) == '(' || s.charAt(i) == ',');
    }
}
