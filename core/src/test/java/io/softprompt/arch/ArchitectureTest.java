package io.softprompt.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * docs/ARCHITECTURE.md, enforced as written: its table gives each package a layer and an allow-list
 * (the last column), and every module's sources must keep to them. A reference (an import or a
 * qualified name in code, not in strings or comments) must point to a lower layer and to a package
 * its allow-list names; wildcard imports are refused (they hide what a file depends on); every
 * package must be in the table. Modules are discovered: every folder beside the parent pom.xml with
 * src/main/java. Hugging Face tensor names appear only in their architecture's package. The checker
 * is a pure function of the document and the sources, tested on synthetic sources below.
 */
class ArchitectureTest {
    private static final Pattern PACKAGE = Pattern.compile("^package io\\.softprompt\\.([\\w.]+);", Pattern.MULTILINE);
    private static final Pattern REFERENCE = Pattern.compile("io\\.softprompt\\.([a-z0-9_]+(?:\\.[a-z0-9_]+)*)\\.[A-Z]");
    private static final Pattern WILDCARD = Pattern.compile("^import\\s+(static\\s+)?[\\w.]+\\.\\*\\s*;", Pattern.MULTILINE);
    private static final Pattern ROW = Pattern.compile("^\\|\\s*(\\d+)\\s*\\|(.*?)\\|.*\\|([^|]*)\\|\\s*$", Pattern.MULTILINE);
    private static final Pattern NAME = Pattern.compile("`([a-z0-9_.]+)`");
    private static final Pattern LITERAL = Pattern.compile("\"(?:\\\\.|[^\"\\\\\n])*\"");
    private static final Pattern HF_NAME = Pattern.compile("(\\.weight|\\.bias|lm_head|embed_tokens|\\bwte\\b|\\bwpe\\b)");

    /** The table: each package's layer, and the packages it may import (resolved from the grammar). */
    record Rules(Map<String, Integer> layers, Map<String, Set<String>> allowed) {}

    static Path root() {
        return Path.of(System.getProperty("softprompt.root", "..")).toAbsolutePath().normalize();
    }

    /** The modules: folders beside the parent pom.xml that hold a pom.xml and main Java sources. */
    static List<Path> modules() throws IOException {
        try (Stream<Path> s = Files.list(root())) {
            return s.filter(d -> Files.isRegularFile(d.resolve("pom.xml")) && Files.isDirectory(d.resolve("src/main/java")))
                    .sorted().toList();
        }
    }

    static Map<String, String> sources() throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (Path module : modules()) {
            Path dir = module.resolve("src/main/java");
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
                    out.put(root().relativize(f).toString(), Files.readString(f));
                }
            }
        }
        return out;
    }

    /**
     * Reads the table of the document: rows "| layer | `pkg`, `pkg` (notes) | owns | may import |". The
     * last column: items separated by commas, each "pkg", "pkg and below" (pkg and all it may import,
     * in turn), "model.*" (the architecture packages), "everything below" (every lower layer) or "—".
     */
    static Rules rules(String doc) {
        Map<String, Integer> layers = new LinkedHashMap<>();
        Map<String, String> column = new LinkedHashMap<>();
        Matcher m = ROW.matcher(doc);
        while (m.find()) {
            int layer = Integer.parseInt(m.group(1));
            String cell = m.group(2).replaceAll("\\(.*?\\)", "");
            Matcher n = NAME.matcher(cell);
            while (n.find()) {
                layers.put(n.group(1), layer);
                column.put(n.group(1), m.group(3).strip());
            }
        }
        Map<String, Set<String>> allowed = new LinkedHashMap<>();
        for (String pkg : layers.keySet()) {
            resolve(pkg, layers, column, allowed, new LinkedHashSet<>());
        }
        return new Rules(layers, allowed);
    }

    private static Set<String> resolve(String pkg, Map<String, Integer> layers, Map<String, String> column,
            Map<String, Set<String>> done, Set<String> visiting) {
        if (done.containsKey(pkg)) {
            return done.get(pkg);
        }
        if (!visiting.add(pkg)) {
            throw new IllegalStateException("docs/ARCHITECTURE.md: allow-lists refer to each other in a cycle at " + pkg);
        }
        Set<String> out = new TreeSet<>();
        for (String raw : column.get(pkg).split(",")) {
            String item = raw.strip().replace("`", "");
            if (item.isEmpty() || item.equals("—") || item.equals("-")) {
                continue;
            }
            if (item.equals("everything below")) {
                layers.forEach((p, l) -> {
                    if (l < layers.get(pkg)) {
                        out.add(p);
                    }
                });
                continue;
            }
            boolean below = item.endsWith(" and below");
            String name = below ? item.substring(0, item.length() - " and below".length()).strip() : item;
            List<String> named = new ArrayList<>();
            if (name.endsWith(".*")) {
                String prefix = name.substring(0, name.length() - 1);
                layers.keySet().stream().filter(p -> p.startsWith(prefix)).forEach(named::add);
            } else {
                named.add(name);
            }
            for (String p : named) {
                if (!layers.containsKey(p)) {
                    throw new IllegalStateException("docs/ARCHITECTURE.md: " + pkg + " may import " + p
                            + ", which the table does not list");
                }
                out.add(p);
                if (below) {
                    out.addAll(resolve(p, layers, column, done, visiting));
                }
            }
        }
        visiting.remove(pkg);
        done.put(pkg, out);
        return out;
    }

    /** Source without comments and with every string literal emptied. */
    static String code(String src) {
        String s = src.replaceAll("(?s)/\\*.*?\\*/", "");
        s = s.replaceAll("(?m)//.*$", "");
        return s.replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
    }

    /** Every breach of the rules in the sources (file name → text), and the reference graph it saw. */
    static List<String> violations(Rules rules, Map<String, String> sources, Map<String, TreeSet<String>> graph) {
        List<String> broken = new ArrayList<>();
        for (var e : sources.entrySet()) {
            String f = e.getKey();
            String code = code(e.getValue());
            Matcher pm = PACKAGE.matcher(code);
            if (!pm.find()) {
                broken.add(f + ": no package line");
                continue;
            }
            String pkg = pm.group(1);
            Integer mine = rules.layers().get(pkg);
            if (mine == null) {
                broken.add(f + ": package " + pkg + " is not in docs/ARCHITECTURE.md's table");
                continue;
            }
            Matcher w = WILDCARD.matcher(code);
            while (w.find()) {
                broken.add(f + ": wildcard import '" + w.group().strip() + "' (name what the file uses)");
            }
            Matcher m = REFERENCE.matcher(code);
            while (m.find()) {
                String dep = m.group(1);
                if (dep.equals(pkg)) {
                    continue;
                }
                graph.computeIfAbsent(pkg, k -> new TreeSet<>()).add(dep);
                Integer theirs = rules.layers().get(dep);
                if (theirs == null) {
                    broken.add(f + ": " + pkg + " refers to " + dep + ", which the table does not list");
                } else if (theirs >= mine) {
                    broken.add(f + ": " + pkg + " (layer " + mine + ") refers to " + dep + " (layer " + theirs
                            + (theirs.equals(mine) ? ", the same layer)" : ", a higher layer)"));
                } else if (!rules.allowed().get(pkg).contains(dep)) {
                    broken.add(f + ": " + pkg + " refers to " + dep + ", which its row does not allow (allowed: "
                            + String.join(", ", rules.allowed().get(pkg)) + ")");
                }
            }
        }
        return new ArrayList<>(new TreeSet<>(broken));
    }

    static Rules documented() throws IOException {
        return rules(Files.readString(root().resolve("docs/ARCHITECTURE.md")));
    }

    @Test
    void everyReferenceIsOneTheDocumentAllows() throws IOException {
        Map<String, String> files = sources();
        assertTrue(files.size() > 50, "found the sources under " + root() + ": " + files.size());
        assertTrue(modules().size() >= 3, "modules found: " + modules());
        Rules rules = documented();
        Map<String, TreeSet<String>> graph = new TreeMap<>();
        List<String> broken = violations(rules, files, graph);
        graph.forEach((k, v) -> System.out.printf("ARCH %-12s -> %s%n", k, String.join(" ", v)));
        assertTrue(broken.isEmpty(), "references docs/ARCHITECTURE.md does not allow:\n" + String.join("\n", broken));
    }

    @Test
    void theTableIsReadAsWritten() throws IOException {
        Rules r = documented();
        assertEquals(0, r.layers().get("util"));
        assertEquals(3, r.layers().get("model.t5"));
        assertEquals(Set.of(), r.allowed().get("util"));
        assertEquals(Set.of("model", "util"), r.allowed().get("data"));
        assertTrue(r.allowed().get("loader").containsAll(Set.of("model.gpt2", "model.bert", "model", "safetensors", "util")));
        assertTrue(r.allowed().get("train").containsAll(Set.of("eval", "scoring", "data", "model", "prompt", "hub")));
        assertFalse(r.allowed().get("train").contains("infer"), "same layer");
        assertEquals(r.layers().keySet().stream().filter(p -> r.layers().get(p) < 13).collect(java.util.stream.Collectors
                .toCollection(TreeSet::new)), r.allowed().get("spark"), "everything below");
    }

    // ---- the checker on synthetic sources: each breach is caught ----

    static List<String> check(String file, String source) throws IOException {
        return violations(documented(), Map.of(file, source), new TreeMap<>());
    }

    @Test
    void anImportItsRowDoesNotAllowFails() throws IOException {
        List<String> v = check("Bad.java", "package io.softprompt.data;\nimport io.softprompt.loader.LoadedModel;\nclass Bad {}\n");
        assertEquals(1, v.size(), v.toString());
        assertTrue(v.get(0).contains("data refers to loader, which its row does not allow"), v.get(0));
        List<String> hub = check("Bad.java", "package io.softprompt.scoring;\nclass Bad { io.softprompt.hub.HubClient c; }\n");
        assertTrue(hub.size() == 1 && hub.get(0).contains("scoring refers to hub, which its row does not allow"), hub.toString());
    }

    @Test
    void aSameLayerOrUpwardReferenceFails() throws IOException {
        List<String> same = check("Bad.java", "package io.softprompt.prompt;\nimport io.softprompt.hub.HubClient;\nclass Bad {}\n");
        assertTrue(same.size() == 1 && same.get(0).contains("(layer 6, the same layer)"), same.toString());
        List<String> up = check("Bad.java", "package io.softprompt.model;\nimport io.softprompt.train.Trainer;\nclass Bad {}\n");
        assertTrue(up.size() == 1 && up.get(0).contains("a higher layer"), up.toString());
    }

    @Test
    void aWildcardImportFails() throws IOException {
        List<String> v = check("Bad.java", "package io.softprompt.cli;\nimport io.softprompt.train.*;\nimport java.util.*;\n"
                + "class Bad {}\n");
        assertEquals(2, v.stream().filter(x -> x.contains("wildcard import")).count(), v.toString());
    }

    @Test
    void anUnlistedPackageFailsAndCommentsAndStringsDoNotCount() throws IOException {
        List<String> v = check("New.java", "package io.softprompt.shiny;\nclass New {}\n");
        assertTrue(v.size() == 1 && v.get(0).contains("package shiny is not in docs/ARCHITECTURE.md's table"), v.toString());
        assertEquals(List.of(), check("Ok.java", "package io.softprompt.data;\n// io.softprompt.train.Trainer\n"
                + "class Ok { String s = \"io.softprompt.train.Trainer\"; }\n"));
    }

    /** The most lines a main source file may have (docs/ARCHITECTURE.md): a longer one is split along its seams. */
    static final int MAX_LINES = 400;

    /** The files of {@code files} (path → source) longer than {@link #MAX_LINES} lines, each with its count. */
    static List<String> oversized(Map<String, String> files) {
        List<String> out = new ArrayList<>();
        files.forEach((path, src) -> {
            long lines = src.lines().count();
            if (lines > MAX_LINES) {
                out.add(path + ": " + lines + " lines");
            }
        });
        return out;
    }

    @Test
    void noMainSourceFileIsOverTheLimit() throws IOException {
        List<String> over = oversized(sources());
        assertTrue(over.isEmpty(), "main source files over " + MAX_LINES + " lines (split them along their seams):\n"
                + String.join("\n", over));
    }

    @Test
    void aFileOverTheLimitFails() {
        String ok = "package io.softprompt.data;\n" + "// a line\n".repeat(MAX_LINES - 1);
        String over = ok + "// one more\n";
        assertEquals(List.of(), oversized(Map.of("Ok.java", ok)));
        assertEquals(List.of("Big.java: " + (MAX_LINES + 1) + " lines"), oversized(Map.of("Big.java", over, "Ok.java", ok)));
    }

    @Test
    void huggingFaceTensorNamesStayInTheirArchitecture() throws IOException {
        List<String> found = new ArrayList<>();
        for (var e : sources().entrySet()) {
            Matcher pm = PACKAGE.matcher(e.getValue());
            pm.find();
            if (pm.group(1).startsWith("model.")) {
                continue;
            }
            String noComments = e.getValue().replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("(?m)//.*$", "");
            Matcher m = LITERAL.matcher(noComments);
            while (m.find()) {
                if (HF_NAME.matcher(m.group()).find()) {
                    found.add(e.getKey() + ": " + m.group());
                }
            }
        }
        assertTrue(found.isEmpty(), "Hugging Face tensor names outside model.<arch>: " + found);
    }

    private static final Pattern SHAPE = Pattern.compile("// \\[([^\\]]*)\\]");
    private static final Pattern LEGEND_ROW = Pattern.compile("^\\| ([A-Z]) \\|", Pattern.MULTILINE);

    /**
     * Every file with shape comments names the one dimension legend in its header ("Dimensions
     * (docs/ARCHITECTURE.md): ..."), and every letter of its shape comments is a letter of that legend
     * (with a subscript, as B_k, allowed; Hkv, Np, Pb and Lp as the legend writes them).
     */
    @Test
    void shapeCommentsUseTheOneLegend() throws IOException {
        String doc = Files.readString(root().resolve("docs/ARCHITECTURE.md"));
        Set<String> named = Set.of("Hkv", "Np", "Pb", "Lp"); // two-letter dimensions the legend defines inside a letter's row
        for (String n : named) {
            assertTrue(doc.contains(n + ":"), "the legend defines " + n);
        }
        Set<String> legend = new TreeSet<>(named);
        Matcher lm = LEGEND_ROW.matcher(doc);
        while (lm.find()) {
            legend.add(lm.group(1));
        }
        assertTrue(legend.size() >= 20, "the legend's letters: " + legend);
        List<String> bad = new ArrayList<>();
        int withShapes = 0;
        for (var e : sources().entrySet()) {
            Matcher m = SHAPE.matcher(e.getValue());
            boolean any = false;
            while (m.find()) {
                for (String tok : m.group(1).split("[^A-Za-z_]+")) {
                    if (tok.isEmpty() || !Character.isUpperCase(tok.charAt(0))) {
                        continue;
                    }
                    any = true;
                    String letter = named.contains(tok) ? tok : tok.split("_")[0];
                    if (!legend.contains(letter)) {
                        bad.add(e.getKey() + ": '" + tok + "' in // [" + m.group(1) + "] is not in the legend");
                    }
                }
            }
            if (any) {
                withShapes++;
                if (!e.getValue().contains("Dimensions (docs/ARCHITECTURE.md):")) {
                    bad.add(e.getKey() + ": shape comments but no 'Dimensions (docs/ARCHITECTURE.md):' header");
                }
            }
        }
        assertTrue(withShapes >= 20, "files with shape comments: " + withShapes);
        assertTrue(bad.isEmpty(), String.join("\n", bad));
    }
}
