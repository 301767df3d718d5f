package io.softprompt.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every relative link in README.md and docs/ resolves: the file or folder it names exists, and a
 * {@code #fragment} into a Markdown file names one of its headings (as GitHub makes anchors: lower
 * case, punctuation dropped, spaces as hyphens). Links inside fenced code blocks are code, not links;
 * web addresses are not checked (nothing here reaches the network).
 */
class DocsLinksTest {
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6} (.+)$", Pattern.MULTILINE);

    /** GitHub's anchor of a heading. */
    static String anchor(String heading) {
        return heading.strip().toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}_\\- ]", "").replace(' ', '-');
    }

    /** The anchors of a Markdown file's headings (fenced code left out). */
    static Set<String> anchors(Path md) throws IOException {
        Set<String> out = new TreeSet<>();
        Matcher m = HEADING.matcher(withoutCode(Files.readString(md)));
        while (m.find()) {
            out.add(anchor(m.group(1)));
        }
        return out;
    }

    /** The text with fenced code blocks blanked. */
    static String withoutCode(String text) {
        StringBuilder sb = new StringBuilder();
        boolean code = false;
        for (String line : text.split("\n", -1)) {
            if (line.strip().startsWith("```")) {
                code = !code;
                sb.append('\n');
                continue;
            }
            sb.append(code ? "" : line).append('\n');
        }
        return sb.toString();
    }

    /** The broken relative links of one Markdown file, each as "file: target (why)". */
    static List<String> broken(Path md) throws IOException {
        List<String> out = new ArrayList<>();
        Matcher m = LINK.matcher(withoutCode(Files.readString(md)));
        while (m.find()) {
            String target = m.group(1);
            if (target.matches("[a-zA-Z][a-zA-Z+.-]*:.*")) {
                continue; // a web address or mailto
            }
            int hash = target.indexOf('#');
            String path = hash < 0 ? target : target.substring(0, hash);
            String fragment = hash < 0 ? null : target.substring(hash + 1);
            Path file = path.isEmpty() ? md : md.getParent().resolve(path).normalize();
            if (!Files.exists(file)) {
                out.add(md.getFileName() + ": " + target + " (no such file)");
            } else if (fragment != null && file.toString().endsWith(".md") && !anchors(file).contains(fragment)) {
                out.add(md.getFileName() + ": " + target + " (no heading with that anchor in " + file.getFileName() + ")");
            }
        }
        return out;
    }

    @Test
    void everyRelativeLinkInTheReadmeAndDocsResolves() throws IOException {
        Path root = ArchitectureTest.root();
        List<Path> files = new ArrayList<>(List.of(root.resolve("README.md")));
        try (Stream<Path> s = Files.walk(root.resolve("docs"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        assertTrue(files.size() > 10, "README.md and docs/: " + files);
        List<String> bad = new ArrayList<>();
        int links = 0;
        for (Path f : files) {
            bad.addAll(broken(f));
            links += (int) LINK.matcher(withoutCode(Files.readString(f))).results().count();
        }
        System.out.printf("LINKS %d links in %d files%n", links, files.size());
        assertTrue(links > 50, "links found: " + links);
        assertTrue(bad.isEmpty(), "broken relative links:\n" + String.join("\n", bad));
    }

    @Test
    void aMissingFileOrHeadingIsCaughtAndCodeAndWebAddressesAreNot(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("other.md"), "# Other\n\n## Memory over long runs\n");
        Files.writeString(tmp.resolve("doc.md"), String.join("\n",
                "# Doc", "", "## A section: with `code`, and punctuation?",
                "[ok](other.md) [ok](other.md#memory-over-long-runs) [ok](#a-section-with-code-and-punctuation)",
                "[web](https://example.org/x) ![image](missing.png) [gone](gone.md) [bad](other.md#nothing)",
                "```", "[in code](nowhere.md)", "```", ""));
        assertEquals(List.of("doc.md: missing.png (no such file)", "doc.md: gone.md (no such file)",
                "doc.md: other.md#nothing (no heading with that anchor in other.md)"), broken(tmp.resolve("doc.md")));
    }
}
