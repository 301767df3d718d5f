package io.softprompt.arch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The package graph of docs/ARCHITECTURE.md, enforced: every package of every module has a layer,
 * and every reference (an import or a qualified name in code, not in strings or comments) points to
 * a lower layer. Packages of one layer do not know each other. Hugging Face tensor names appear only
 * in their architecture's package.
 */
class ArchitectureTest {
    /** Layer of each package under io.softprompt, lowest first; keep docs/ARCHITECTURE.md in step. */
    static final Map<String, Integer> LAYERS = Map.ofEntries(
            Map.entry("util", 0),
            Map.entry("safetensors", 1),
            Map.entry("model", 2),
            Map.entry("model.gpt2", 3), Map.entry("model.llama", 3), Map.entry("model.t5", 3), Map.entry("model.bert", 3),
            Map.entry("loader", 4),
            Map.entry("data", 5),
            Map.entry("prompt", 6), Map.entry("hub", 6),
            Map.entry("scoring", 7),
            Map.entry("eval", 8),
            Map.entry("train", 9), Map.entry("infer", 9),
            Map.entry("serve", 10), Map.entry("sweep", 10),
            Map.entry("api", 11),
            Map.entry("cli", 12), Map.entry("bench", 12),
            Map.entry("spark", 13));
    private static final Pattern PACKAGE = Pattern.compile("^package io\\.softprompt\\.([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern REFERENCE = Pattern.compile("io\\.softprompt\\.([a-z0-9_]+(?:\\.[a-z0-9_]+)*)\\.[A-Z]");
    private static final Pattern LITERAL = Pattern.compile("\"(?:\\\\.|[^\"\\\\\n])*\"");
    private static final Pattern HF_NAME = Pattern.compile("(\\.weight|\\.bias|lm_head|embed_tokens|\\bwte\\b|\\bwpe\\b)");

    static Path root() {
        return Path.of(System.getProperty("softprompt.root", "..")).toAbsolutePath().normalize();
    }

    static List<Path> sources() throws IOException {
        List<Path> out = new ArrayList<>();
        for (String module : List.of("core", "cli", "spark")) {
            Path dir = root().resolve(module).resolve("src/main/java/io/softprompt");
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.walk(dir)) {
                    s.filter(p -> p.toString().endsWith(".java")).forEach(out::add);
                }
            }
        }
        return out;
    }

    /** Source without comments and with every string literal emptied. */
    static String code(String src) {
        String s = src.replaceAll("(?s)/\\*.*?\\*/", "");
        s = s.replaceAll("(?m)//.*$", "");
        return s.replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
    }

    @Test
    void referencesPointToLowerLayers() throws IOException {
        List<Path> files = sources();
        assertTrue(files.size() > 50, "found the sources under " + root() + ": " + files.size());
        List<String> broken = new ArrayList<>();
        Map<String, TreeSet<String>> graph = new TreeMap<>();
        for (Path f : files) {
            String src = Files.readString(f);
            Matcher pm = PACKAGE.matcher(src);
            assertTrue(pm.find(), f + ": no package line");
            String pkg = pm.group(1);
            Integer mine = LAYERS.get(pkg);
            if (mine == null) {
                broken.add(f + ": package " + pkg + " has no layer (add it to LAYERS and docs/ARCHITECTURE.md)");
                continue;
            }
            Matcher m = REFERENCE.matcher(code(src));
            while (m.find()) {
                String dep = m.group(1);
                if (dep.equals(pkg)) {
                    continue;
                }
                graph.computeIfAbsent(pkg, k -> new TreeSet<>()).add(dep);
                Integer theirs = LAYERS.get(dep);
                if (theirs == null || theirs >= mine) {
                    broken.add(f.getFileName() + ": " + pkg + " (layer " + mine + ") refers to " + dep + " (layer "
                            + theirs + ")");
                }
            }
        }
        graph.forEach((k, v) -> System.out.printf("ARCH %-12s -> %s%n", k, String.join(" ", v)));
        assertTrue(broken.isEmpty(), "imports that do not point down:\n" + String.join("\n", new TreeSet<>(broken)));
    }

    @Test
    void huggingFaceTensorNamesStayInTheirArchitecture() throws IOException {
        List<String> found = new ArrayList<>();
        for (Path f : sources()) {
            String src = Files.readString(f);
            Matcher pm = PACKAGE.matcher(src);
            pm.find();
            if (pm.group(1).startsWith("model.")) {
                continue;
            }
            String noComments = src.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("(?m)//.*$", "");
            Matcher m = LITERAL.matcher(noComments);
            while (m.find()) {
                if (HF_NAME.matcher(m.group()).find()) {
                    found.add(f.getFileName() + ": " + m.group());
                }
            }
        }
        assertTrue(found.isEmpty(), "Hugging Face tensor names outside model.<arch>: " + found);
    }

    @Test
    void architectureDocumentNamesEveryPackage() throws IOException {
        String doc = Files.readString(root().resolve("docs/ARCHITECTURE.md"));
        List<String> missing = new ArrayList<>();
        for (String pkg : LAYERS.keySet()) {
            if (!doc.contains("`" + pkg + "`")) {
                missing.add(pkg);
            }
        }
        assertTrue(missing.isEmpty(), "docs/ARCHITECTURE.md does not describe " + missing);
    }
}
