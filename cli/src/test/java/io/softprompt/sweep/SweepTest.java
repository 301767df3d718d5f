package io.softprompt.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.cli.Cli;
import io.softprompt.cli.Main;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.RunDir;
import io.softprompt.util.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny sweep killed midway and re-run; sharding; the report and its plots. */
class SweepTest {
    @TempDir
    static Path tmp;
    static Path config;

    @BeforeAll
    static void data() throws Exception {
        Path task = Fixtures.moodTask(tmp, 4);
        config = tmp.resolve("sweep.json");
        Files.writeString(config, "{\"name\": \"tiny\", \"base\": {\"task\": " + Json.write(task.toString()) + ", \"model\": "
                + Json.write(Fixtures.of("gpt2").toString()) + ", \"steps\": 12, \"batch_size\": 4, \"eval_every\": 6,"
                + " \"checkpoint_every\": 3, \"log_every\": 3, \"lr\": 0.3}, \"grid\": {\"tokens\": [2, 4], \"seed\": [1, 2]}}");
    }

    static Map<String, List<String>> events(Path out) throws Exception {
        Map<String, List<String>> m = new HashMap<>();
        for (String l : Files.readAllLines(out.resolve("sweep.jsonl"))) {
            JsonNode j = Json.MAPPER.readTree(l);
            m.computeIfAbsent(j.get("run").asText(), k -> new ArrayList<>()).add(j.get("event").asText());
        }
        return m;
    }

    @Test
    void killedMidwayThenRerunFinishesEachRunExactlyOnce() throws Exception {
        Path out = tmp.resolve("runs");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "-Dai.djl.offline=true", "-Dsoftprompt.offline=true", "-Xmx256m",
                Main.class.getName(), "sweep", "--config", config.toString(), "--out", out.toString(),
                "--debug-step-delay-ms", "250"));
        Process sweep = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("sweep1.log").toFile()).start();
        // wait until one run has finished and the next has a checkpoint, then SIGKILL the sweep
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        boolean midway = false;
        while (!midway && System.nanoTime() < deadline && sweep.isAlive()) {
            Thread.sleep(100);
            if (Files.isRegularFile(out.resolve("sweep.jsonl"))) {
                Map<String, List<String>> ev = events(out);
                long done = ev.values().stream().filter(l -> l.contains("finish")).count();
                String second = "tokens-2_seed-2";
                midway = done == 1 && Files.isRegularFile(out.resolve(second).resolve(RunDir.CHECKPOINT));
            }
        }
        assertTrue(midway, "killed after one finished run and one checkpoint: " + Files.readString(tmp.resolve("sweep1.log")));
        sweep.destroyForcibly();
        sweep.waitFor();
        Thread.sleep(1000); // the orphaned train child notices its parent is gone (polls every 200 ms) and halts
        long before = Files.getLastModifiedTime(out.resolve("tokens-2_seed-2").resolve(RunDir.CHECKPOINT)).toMillis();
        Thread.sleep(600);
        assertEquals(before, Files.getLastModifiedTime(out.resolve("tokens-2_seed-2").resolve(RunDir.CHECKPOINT)).toMillis(),
                "no orphan keeps training after the sweep was killed");

        Cli.Run again = Cli.run("sweep", "--config", config.toString(), "--out", out.toString());
        assertEquals(0, again.code(), again.err());
        // each run's line: its place, its best dev accuracy, the sweep's best so far, the time left
        List<String> progress = again.err().lines().filter(l -> l.startsWith("[")).toList();
        assertEquals(3, progress.size(), "one line per run trained (one was done already): " + again.err());
        for (String line : progress) {
            assertTrue(line.matches("\\[[234]/4] tokens-\\d_seed-\\d: best dev acc \\d\\.\\d{4} \\| sweep best \\d\\.\\d{4} "
                    + "\\(tokens-\\d_seed-\\d\\) \\| ETA \\d+:\\d\\d"), line);
        }
        assertTrue(progress.get(2).endsWith("ETA 0:00"), progress.get(2));
        Map<String, List<String>> ev = events(out);
        assertEquals(4, ev.size());
        for (var e : ev.entrySet()) {
            assertEquals(1, e.getValue().stream().filter("finish"::equals).count(), e.getKey() + " finished once: " + e.getValue());
            assertTrue(Files.isRegularFile(out.resolve(e.getKey()).resolve("prompt.sp")));
        }
        assertEquals(List.of("start", "finish", "skip"), ev.get("tokens-2_seed-1"), "finished before the kill: skipped after");
        assertEquals(List.of("start", "resume", "finish"), ev.get("tokens-2_seed-2"), "interrupted: resumed");
        Cli.Run third = Cli.run("sweep", "--config", config.toString(), "--out", out.toString());
        assertEquals(0, third.code());
        assertTrue(third.err().contains("0 finished, 4 already done"), third.err());

        // ---- the report ----
        Path report = tmp.resolve("report");
        Cli.Run r = Cli.run("report", out.toString(), "--out", report.toString());
        assertEquals(0, r.code(), r.err());
        List<String> csv = Files.readAllLines(report.resolve("runs.csv"));
        assertEquals(5, csv.size(), "header + 4 runs");
        List<String> header = List.of(csv.get(0).split(","));
        Map<String, Double> acc = new HashMap<>();
        for (String line : csv.subList(1, csv.size())) {
            String[] c = line.split(",");
            double a = Double.parseDouble(c[header.indexOf("best_dev_accuracy")]);
            JsonNode fin = Json.MAPPER.readTree(out.resolve(c[0]).resolve(RunDir.FINAL).toFile());
            assertEquals(fin.get("best_dev_accuracy").asDouble(), a, 0.0, c[0]);
            acc.put(c[0], a);
        }
        // the plotted numbers are the runs' means over seeds
        List<String> plotted = Files.readAllLines(report.resolve("accuracy-vs-length.csv"));
        assertEquals(3, plotted.size(), "header + tokens 2 and 4: " + plotted);
        for (String line : plotted.subList(1, plotted.size())) {
            String[] c = line.split(",");
            double mean = (acc.get("tokens-" + c[1] + "_seed-1") + acc.get("tokens-" + c[1] + "_seed-2")) / 2;
            assertEquals(mean, Double.parseDouble(c[2]), 1e-12, line);
            assertEquals("2", c[4]);
        }
        String md = Files.readString(report.resolve("summary.md"));
        assertTrue(md.contains("| tokens | seeds | best dev accuracy (mean ± std) |"), md);
        for (String f : List.of("accuracy-vs-length.png", "training-curves.png")) {
            byte[] png = Files.readAllBytes(report.resolve(f));
            assertTrue(png.length > 1000, f);
            assertEquals((byte) 0x89, png[0]);
            assertEquals("PNG", new String(png, 1, 3, StandardCharsets.US_ASCII));
        }
        for (String f : List.of("accuracy-vs-length.svg", "training-curves.svg")) {
            String svg = Files.readString(report.resolve(f));
            assertTrue(svg.contains("<svg") && svg.length() > 1000, f);
        }
    }

    @Test
    void aPackedSweepKilledAndRerunEndsAsTheUninterruptedPack() throws Exception {
        Path whole = tmp.resolve("packed-whole");
        Cli.Run w = Cli.run("sweep", "--config", config.toString(), "--out", whole.toString(), "--pack", "4");
        assertEquals(0, w.code(), w.err());
        assertTrue(w.err().contains("1 pack(s) of up to 4"), w.err());

        Path out = tmp.resolve("packed");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "-Dai.djl.offline=true", "-Dsoftprompt.offline=true", "-Xmx256m",
                Main.class.getName(), "sweep", "--config", config.toString(), "--out", out.toString(), "--pack", "4",
                "--debug-step-delay-ms", "300"));
        Process sweep = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("packed1.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        boolean midway = false;
        List<String> ids = List.of("tokens-2_seed-1", "tokens-2_seed-2", "tokens-4_seed-1", "tokens-4_seed-2");
        while (!midway && System.nanoTime() < deadline && sweep.isAlive()) {
            Thread.sleep(100);
            midway = ids.stream().allMatch(id -> Files.isRegularFile(out.resolve(id).resolve(RunDir.CHECKPOINT)));
        }
        assertTrue(midway, "killed once every member has a checkpoint: " + Files.readString(tmp.resolve("packed1.log")));
        sweep.destroyForcibly();
        sweep.waitFor();
        Thread.sleep(1000); // the orphaned pack notices its parent is gone and halts
        for (String id : ids) {
            assertTrue(!Files.exists(out.resolve(id).resolve(RunDir.FINAL)), id + " was interrupted");
        }

        Cli.Run again = Cli.run("sweep", "--config", config.toString(), "--out", out.toString(), "--pack", "4");
        assertEquals(0, again.code(), again.err());
        Map<String, List<String>> ev = events(out);
        for (String id : ids) {
            assertEquals(List.of("start", "resume", "finish"), ev.get(id), id);
            float[] a = PromptFile.read(whole.resolve(id).resolve("prompt.sp")).values();
            float[] b = PromptFile.read(out.resolve(id).resolve("prompt.sp")).values();
            org.junit.jupiter.api.Assertions.assertArrayEquals(a, b, id + ": the killed pack ends bit for bit as the whole one");
            JsonNode fa = Json.MAPPER.readTree(whole.resolve(id).resolve(RunDir.FINAL).toFile());
            JsonNode fb = Json.MAPPER.readTree(out.resolve(id).resolve(RunDir.FINAL).toFile());
            assertEquals(fa.get("best_dev_accuracy"), fb.get("best_dev_accuracy"), id);
            assertTrue(fb.get("resumed_from_step").asInt() >= 3, id);
            String log = Files.readString(out.resolve(id).resolve("train.log"));
            assertTrue(log.contains("in a pack of 4") && log.contains("resuming at step") && log.contains("wrote "), log);
            for (String f : List.of(RunDir.CONFIG, RunDir.METRICS, RunDir.BEST, RunDir.CHECKPOINT)) {
                assertTrue(Files.isRegularFile(out.resolve(id).resolve(f)), id + " " + f);
            }
        }
        try (var packs = Files.list(out.resolve(SweepRunner.PACKS))) {
            assertEquals(1, packs.count(), "one pack log (both times the same pack)");
        }
        // and the report reads a packed sweep as any other
        Cli.Run r = Cli.run("report", out.toString(), "--out", tmp.resolve("packed-report").toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(5, Files.readAllLines(tmp.resolve("packed-report").resolve("runs.csv")).size());
    }

    @Test
    void packsGroupRunsOfOneModelAndMaxLengthEvenly() throws Exception {
        Path grid = tmp.resolve("packgrid.json");
        Files.writeString(grid, "{\"base\": {\"steps\": 1}, \"grid\": {\"max_length\": [16, 32], \"tokens\": [1, 5],"
                + " \"seed\": [1, 2, 3]}}");
        Cli.Run r = Cli.run("sweep", "--config", grid.toString(), "--out", tmp.resolve("packgrid").toString(), "--pack", "4",
                "--dry-run", "--json");
        assertEquals(0, r.code(), r.err());
        Map<Integer, Set<Integer>> lengths = new HashMap<>();
        Map<Integer, Integer> sizes = new HashMap<>();
        for (String line : r.out().strip().split("\n")) {
            JsonNode j = Json.MAPPER.readTree(line);
            int pack = j.get("pack").asInt();
            lengths.computeIfAbsent(pack, k -> new HashSet<>()).add(j.get("point").get("max_length").asInt());
            sizes.merge(pack, 1, Integer::sum);
        }
        assertEquals(4, sizes.size(), "6 runs per max length in packs of 4: two packs of 3 each: " + sizes);
        sizes.values().forEach(n -> assertEquals(3, n));
        lengths.values().forEach(l -> assertEquals(1, l.size(), "one max length per pack"));
        Cli.Run bad = Cli.run("sweep", "--config", grid.toString(), "--out", tmp.resolve("packgrid").toString(), "--pack", "0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--pack must be at least 1"), bad.err());
        Cli.Run budget = Cli.run("sweep", "--config", grid.toString(), "--out", tmp.resolve("packgrid").toString(),
                "--token-budget", "512");
        assertEquals(2, budget.code());
        assertTrue(budget.err().contains("--token-budget applies to packs"), budget.err());
    }

    @Test
    void dryRunIsATableWithOneColumnPerGridKey() throws Exception {
        Path grid = tmp.resolve("table.json");
        Files.writeString(grid, "{\"base\": {\"steps\": 1}, \"grid\": {\"tokens\": [5, 20], \"lr\": [0.3, 0.03]}}");
        Cli.Run r = Cli.run("sweep", "--config", grid.toString(), "--out", tmp.resolve("table").toString(), "--dry-run",
                "--pack", "2");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        System.out.println(r.out());
        assertEquals(6, lines.size(), r.out());
        assertTrue(lines.get(0).matches("#  state\\s+pack\\s+tokens\\s+lr\\s+run folder"), lines.get(0));
        int folder = lines.get(0).indexOf("run folder");
        for (String row : lines.subList(1, 5)) {
            assertTrue(row.matches("\\d  new\\s+[12]\\s+(5|20)\\s+0\\.0?3\\s+\\S+"), row);
            assertTrue(row.substring(folder).matches("tokens-\\d+_lr-\\S+"), "columns aligned: " + row);
        }
        assertEquals("4 run(s): 4 new (nothing ran: --dry-run; --json for JSON lines)", lines.get(5));
    }

    @Test
    void shardsPartitionTheGrid() throws Exception {
        Path grid = tmp.resolve("grid.json");
        Files.writeString(grid, "{\"base\": {\"steps\": 1}, \"grid\": {\"tokens\": [1, 5, 20, 100], \"init\": [\"random\","
                + " \"vocab\", \"labels\"], \"seed\": [1, 2]}}");
        Set<String> all = new HashSet<>(runs(Cli.run("sweep", "--config", grid.toString(), "--out", tmp.resolve("g").toString(),
                "--dry-run", "--json")));
        assertEquals(24, all.size());
        Set<String> union = new HashSet<>();
        int total = 0;
        for (int i = 1; i <= 3; i++) {
            List<String> part = runs(Cli.run("sweep", "--config", grid.toString(), "--out", tmp.resolve("g").toString(),
                    "--dry-run", "--json", "--shard", i + "/3"));
            total += part.size();
            union.addAll(part);
        }
        assertEquals(all, union, "the shards cover the grid");
        assertEquals(all.size(), total, "and do not overlap");
    }

    static List<String> runs(Cli.Run r) throws Exception {
        assertEquals(0, r.code(), r.err());
        List<String> ids = new ArrayList<>();
        for (String l : r.out().strip().split("\n")) {
            ids.add(Json.MAPPER.readTree(l).get("run").asText());
        }
        return ids;
    }

    @Test
    void badSweepsAreOneLineErrors() throws Exception {
        Path badKey = tmp.resolve("bad-key.json");
        Files.writeString(badKey, "{\"base\": {\"learnin_rte\": 1}, \"grid\": {\"seed\": [1]}}");
        Path badType = tmp.resolve("bad-type.json");
        Files.writeString(badType, "{\"grid\": {\"tokens\": [1, \"many\"]}}");
        Path reserved = tmp.resolve("reserved.json");
        Files.writeString(reserved, "{\"base\": {\"output\": \"x.sp\"}, \"grid\": {\"seed\": [1]}}");
        Path emptyList = tmp.resolve("empty.json");
        Files.writeString(emptyList, "{\"grid\": {\"seed\": []}}");
        String[][] cases = {
            {"unknown key 'learnin_rte'; did you mean 'lr'?", badKey.toString(), "1/1"},
            {"key 'tokens' must be a whole number", badType.toString(), "1/1"},
            {"is set by the sweep itself", reserved.toString(), "1/1"},
            {"must be a non-empty list", emptyList.toString(), "1/1"},
            {"--shard 4/3", badKey.toString(), "4/3"},
        };
        for (String[] c : cases) {
            Cli.Run r = Cli.run("sweep", "--config", c[1], "--out", tmp.resolve("bad").toString(), "--shard", c[2], "--dry-run");
            assertEquals(2, r.code(), r.err());
            assertTrue(r.errLine().contains(c[0]), "expected '" + c[0] + "' in " + r.err());
        }
        Cli.Run noRuns = Cli.run("report", tmp.resolve("g-none").toString(), "--out", tmp.resolve("rep").toString());
        assertEquals(2, noRuns.code());
    }
}
