package io.softprompt.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.IHelpSectionRenderer;

/**
 * Help text wrapped at spaces only. picocli breaks lines where Java's line BreakIterator allows, which
 * includes after '/', '.' and '-' inside a token: {@code ~/.} on one line and {@code cache/huggingface/hub}
 * on the next, a flag's label cut in two. Here picocli lays each section out on unbounded lines and each
 * line is wrapped again to the width at spaces, under the column it started in: an option's
 * description under its description column, the synopsis under its first option. A path, URL or flag
 * longer than the room stays whole.
 */
final class HelpWrap {
    private static final int UNBOUNDED = 10_000;
    /** An option row: its spec, then two or more spaces, then the description. */
    private static final Pattern COLUMNS = Pattern.compile("^(\\s*\\S.*?)\\s{2,}(?=\\S)");

    private HelpWrap() {}

    /** Installs the wrapping on {@code cl} and every subcommand, at the width picocli would have used. */
    static void install(CommandLine cl) {
        int width = cl.getUsageHelpWidth();
        Map<String, IHelpSectionRenderer> sections = cl.getHelpSectionMap();
        for (Map.Entry<String, IHelpSectionRenderer> e : sections.entrySet()) {
            IHelpSectionRenderer inner = e.getValue();
            boolean synopsis = e.getKey().equals(CommandLine.Model.UsageMessageSpec.SECTION_KEY_SYNOPSIS);
            boolean columns = e.getKey().equals(CommandLine.Model.UsageMessageSpec.SECTION_KEY_OPTION_LIST)
                    || e.getKey().equals(CommandLine.Model.UsageMessageSpec.SECTION_KEY_PARAMETER_LIST)
                    || e.getKey().equals(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST)
                    || e.getKey().equals(CommandLine.Model.UsageMessageSpec.SECTION_KEY_EXIT_CODE_LIST);
            e.setValue(help -> {
                String text = inner.render(help);
                if (!synopsis) {
                    return rewrap(text, width, false, columns);
                }
                // the heading ("Usage: ") is its own section, printed on the synopsis's first line
                int lead = help.synopsisHeadingLength();
                return rewrap(" ".repeat(lead) + text, width, true, false).substring(lead);
            });
        }
        cl.setHelpSectionMap(sections);
        cl.setUsageHelpWidth(UNBOUNDED);
        cl.getSubcommands().values().forEach(HelpWrap::install);
    }

    /** Every line of a section longer than {@code width} wrapped at spaces under its hanging column. */
    static String rewrap(String section, int width, boolean synopsis, boolean columns) {
        StringBuilder out = new StringBuilder(section.length() + 64);
        String[] lines = section.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            out.append(wrap(lines[i], width, hanging(lines[i], synopsis, columns)));
            if (i < lines.length - 1) {
                out.append('\n');
            }
        }
        return out.toString();
    }

    /** Where a line's continuation lines start. */
    static int hanging(String line, boolean synopsis, boolean columns) {
        int lead = 0;
        while (lead < line.length() && line.charAt(lead) == ' ') {
            lead++;
        }
        if (synopsis) {
            int first = line.indexOf(" [");
            return first > 0 ? first + 1 : lead;
        }
        if (columns) {
            Matcher m = COLUMNS.matcher(line);
            if (m.find()) {
                return m.end();
            }
        }
        return lead;
    }

    /** One line wrapped at spaces: what precedes {@code hanging} stays on the first line; no token is cut. */
    static String wrap(String line, int width, int hanging) {
        if (line.length() <= width) {
            return line;
        }
        int hang = hanging < width / 2 ? hanging : Math.min(hanging, 8); // a column past half the width leaves no room
        String indent = " ".repeat(hang);
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder(line.substring(0, hang));
        boolean empty = true;
        for (String word : line.substring(hang).split(" ")) {
            if (word.isEmpty()) {
                continue;
            }
            if (!empty && cur.length() + 1 + word.length() > width) {
                out.add(cur.toString());
                cur = new StringBuilder(indent);
                empty = true;
            }
            cur.append(empty ? "" : " ").append(word);
            empty = false;
        }
        out.add(cur.toString());
        return String.join("\n", out);
    }
}
