package io.softprompt.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.cli.Main;
import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.Checkpoint;
import io.softprompt.train.DataParallel;
import io.softprompt.train.RunDir;
import io.softprompt.train.Trainer;
import io.softprompt.util.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark in local[2], against the single process: batch scoring equals infer --input, data-parallel
 * training equals train (AdamW and Adafactor; input and deep prompts), and a killed driver resumes to the same prompt.
 */
class SparkTest {
    @TempDir
    static Path tmp;
    static SparkSession spark;
    static Path model;
    static Path mood;

    @BeforeAll
    static void start() throws Exception {
        spark = SparkSession.builder().master("local[2]").appName("softprompt test").config("spark.ui.enabled", "false")
                .getOrCreate();
        model = Fixtures.of("gpt2");
        mood = Fixtures.moodTask(tmp, 20);
    }

    @AfterAll
    static void stop() {
        spark.stop();
        ModelHolder.closeAll();
    }

    record Run(int code, String out, String err) {}

    static Run spark(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SparkMain.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    // ---------------------------------------------------------------- scoring

    @Test
    void scoringEqualsInferOnAMixedTableWithBadRowsInTheirErrorColumn() throws Exception {
        Path prompts = Files.createDirectories(tmp.resolve("prompts"));
        try (LoadedModel m = LoadedModel.load(model, "gpt2-tiny")) {
            writePrompt(m, prompts.resolve("sst2.sp"), Task.resolve("sst2"), 2, 1);
            writePrompt(m, prompts.resolve("mood.sp"), Task.resolve(mood.toString()), 5, 2);
            writePrompt(m, prompts.resolve("long.sp"), Task.resolve("sst2"), 9, 3);
        }
        Files.writeString(prompts.resolve("notes.txt"), "not a prompt");
        String[] tasks = {"sst2", "mood", "long"};
        String[] words = ("the a film movie plot was great dull boring fine fun slow sharp warm cold story actors "
                + "score music long short bright dark clever flat").split(" ");
        Random rnd = new Random(7);
        StringBuilder good = new StringBuilder();
        StringBuilder all = new StringBuilder();
        int rows = 3000;
        for (int i = 1; i <= rows; i++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0, n = 2 + rnd.nextInt(30); w < n; w++) {
                text.append(w == 0 ? "" : " ").append(words[rnd.nextInt(words.length)]);
            }
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", i);
            row.put("task", tasks[rnd.nextInt(3)]);
            row.put("text", text.toString());
            String line = Json.write(row) + "\n";
            good.append(line);
            all.append(line);
            if (i == 1234) { // the bad rows sit between good ones
                all.append("{\"id\": 100001, \"task\": \"nosuch\", \"text\": \"a fine film\"}\n");
                all.append("{\"id\": 100002, \"task\": \"mood\", \"text\": \"  \"}\n");
            }
        }
        Path goodRows = Files.writeString(tmp.resolve("good.jsonl"), good);
        Path allRows = Files.writeString(tmp.resolve("all.jsonl"), all);

        Run infer = cli("infer", "--model", model.toString(), "--prompt", "sst2=" + prompts.resolve("sst2.sp"),
                "--prompt", "mood=" + prompts.resolve("mood.sp"), "--prompt", "long=" + prompts.resolve("long.sp"),
                "--input", goodRows.toString());
        assertEquals(0, infer.code(), infer.err());
        Map<Long, JsonNode> expected = new HashMap<>();
        for (String line : infer.out().split("\n")) {
            JsonNode j = Json.MAPPER.readTree(line);
            expected.put(j.get("id").asLong(), j);
        }
        assertEquals(rows, expected.size());

        Path out = tmp.resolve("scored");
        Run s = spark("score", "--model", model.toString(), "--prompts", prompts.toString(), "--input", allRows.toString(),
                "--output", out.toString(), "--chunk-rows", "500", "--partitions", "3");
        assertEquals(0, s.code(), s.err());
        assertTrue(s.err().contains("scored " + (rows + 2) + " rows (2 with an error)"), s.err());
        List<Row> got = inOrder("parquet", out);
        assertEquals(rows + 2, got.size());
        double worst = 0;
        long prevId = 0;
        int at = 0;
        for (Row r : got) {
            long id = r.getLong(r.fieldIndex("id"));
            String error = r.getString(r.fieldIndex("error"));
            if (id > 100000) {
                assertEquals(1235, at + 1, "the bad rows keep their place");
                assertTrue(error.startsWith(id == 100001 ? "unknown task 'nosuch'" : "empty text"), error);
                assertNull(r.get(r.fieldIndex("label")));
                continue;
            }
            at++;
            assertTrue(id > prevId, "row order kept: " + id + " after " + prevId);
            prevId = id;
            assertNull(error, "row " + id);
            JsonNode e = expected.get(id);
            assertEquals(e.get("task").asText(), r.getString(r.fieldIndex("task")));
            assertEquals(e.get("label").asText(), r.getString(r.fieldIndex("label")), "row " + id);
            assertEquals(e.get("word").asText(), r.getString(r.fieldIndex("word")), "row " + id + ": the answer schema of infer");
            Map<String, Double> p = r.getJavaMap(r.fieldIndex("probabilities"));
            assertEquals(e.get("probabilities").size(), p.size());
            for (Map.Entry<String, Double> c : p.entrySet()) {
                worst = Math.max(worst, Math.abs(c.getValue() - e.get("probabilities").get(c.getKey()).asDouble()));
            }
        }
        System.out.printf(Locale.ROOT, "spark score vs infer --input: %d rows, 3 tasks (N = 2, 5, 9), largest probability "
                + "difference %.3g%n", rows, worst);
        assertTrue(worst <= 1e-6, "probabilities within 1e-6 of infer --input: " + worst);

        Run again = spark("score", "--model", model.toString(), "--prompts", prompts.toString(), "--input",
                allRows.toString(), "--output", out.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("--output " + out + " exists; --force replaces it"), again.err());
    }

    @Test
    void textToTextRowsAreGeneratedAsInferDoes() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("t2t"));
        Path task = Files.writeString(dir.resolve("echo.json"), """
                {"name": "echo", "type": "text-to-text", "template": "{input} it was"}
                """);
        Path prompts = Files.createDirectories(dir.resolve("prompts"));
        try (LoadedModel m = LoadedModel.load(model, "gpt2-tiny")) {
            writePrompt(m, prompts.resolve("echo.sp"), Task.resolve(task.toString()), 3, 9);
            writePrompt(m, prompts.resolve("sst2.sp"), Task.resolve("sst2"), 2, 10);
        }
        StringBuilder rows = new StringBuilder();
        for (int i = 1; i <= 12; i++) {
            rows.append(Json.write(Map.of("id", i, "task", i % 3 == 0 ? "sst2" : "echo", "text", "row " + i + " a fine film")))
                    .append('\n');
        }
        Path in = Files.writeString(dir.resolve("rows.jsonl"), rows);
        Run infer = cli("infer", "--model", model.toString(), "--prompt", "echo=" + prompts.resolve("echo.sp"), "--prompt",
                "sst2=" + prompts.resolve("sst2.sp"), "--input", in.toString(), "--max-new-tokens", "6");
        assertEquals(0, infer.code(), infer.err());
        Path out = dir.resolve("scored.json");
        Run s = spark("score", "--model", model.toString(), "--prompts", prompts.toString(), "--input", in.toString(),
                "--output", out.toString(), "--output-format", "json", "--max-new-tokens", "6", "--partitions", "2");
        assertEquals(0, s.code(), s.err());
        List<Row> got = inOrder("json", out);
        String[] lines = infer.out().split("\n");
        assertEquals(lines.length, got.size());
        int generated = 0;
        for (int i = 0; i < lines.length; i++) {
            JsonNode e = Json.MAPPER.readTree(lines[i]);
            Row r = got.get(i);
            assertEquals(e.get("id").asLong(), r.getLong(r.fieldIndex("id")), "row order kept");
            if (e.has("generated")) {
                generated++;
                assertEquals(e.get("generated").asText(), r.getString(r.fieldIndex("generated")), "row " + i);
                assertTrue(r.isNullAt(r.fieldIndex("label")));
            } else {
                assertEquals(e.get("label").asText(), r.getString(r.fieldIndex("label")));
            }
        }
        assertEquals(8, generated, "the echo rows are generated, the sst2 rows classified");
    }

    @Test
    void scoringRefusesBadArgumentsWithOneLine() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("no-prompts"));
        Path rows = Files.writeString(tmp.resolve("one.jsonl"), "{\"task\": \"x\", \"text\": \"y\"}\n");
        Run r = spark("score", "--model", model.toString(), "--prompts", empty.toString(), "--input", rows.toString(),
                "--output", tmp.resolve("o1").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("softprompt: error: --prompts " + empty + ": no usable prompt"), r.err());
        Run missing = spark("score", "--model", model.toString(), "--prompts", tmp.resolve("nope").toString(), "--input",
                rows.toString(), "--output", tmp.resolve("o2").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("no such folder"), missing.err());
        Path noText = Files.writeString(tmp.resolve("notext.jsonl"), "{\"task\": \"x\", \"words\": \"y\"}\n");
        Files.copy(writeOne(), empty.resolve("x.sp"));
        Run cols = spark("score", "--model", model.toString(), "--prompts", empty.toString(), "--input", noText.toString(),
                "--output", tmp.resolve("o3").toString());
        assertEquals(2, cols.code());
        assertTrue(cols.err().contains("the input needs columns 'task' and 'text'"), cols.err());
        assertEquals(1, cols.err().strip().split("\n").length, cols.err());
    }

    /**
     * The write rule for score's table: a read-only or full destination is exit 2 with the OS's reason,
     * nothing left there; --force replaces a table it wrote but never a folder of the user's.
     */
    @Test
    void scoringToAReadOnlyOrFullDiskOrOverAFolderOfTheUsersIsRefused() throws Exception {
        Path prompts = Files.createDirectories(tmp.resolve("wr-prompts"));
        Files.copy(writeOne(), prompts.resolve("x.sp"));
        Path rows = Files.writeString(tmp.resolve("wr.jsonl"), "{\"task\": \"x\", \"text\": \"a fine film\"}\n");
        for (String[] disk : new String[][] {{"size=256k,ro", "Read-only file system"}, {"size=64k", "No space left on device"}}) {
            Path d = Files.createDirectories(tmp.resolve("wr-" + disk[0].replaceAll("[^a-z0-9]", "")));
            Assumptions.assumeTrue(mount(d, disk[0]), "mounting a tmpfs needs root (CI and the development machine have it)");
            try {
                if (!disk[0].endsWith("ro")) {
                    try (var o = Files.newOutputStream(d.resolve("filler"))) {
                        while (true) {
                            o.write(new byte[4096]);
                        }
                    } catch (IOException full) {
                        // full
                    }
                }
                Run r = spark("score", "--model", model.toString(), "--prompts", prompts.toString(), "--input",
                        rows.toString(), "--output", d.resolve("scored").toString());
                assertEquals(2, r.code(), r.err());
                assertTrue(r.err().strip().startsWith("softprompt: error: --output ") && r.err().contains(disk[1]), r.err());
                assertFalse(Files.exists(d.resolve("scored")), "nothing written");
            } finally {
                new ProcessBuilder("umount", d.toString()).start().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
        Path mine = Files.createDirectories(tmp.resolve("wr-mine"));
        Files.writeString(mine.resolve("results.xlsx"), "the user's");
        Run over = spark("score", "--model", model.toString(), "--prompts", prompts.toString(), "--input", rows.toString(),
                "--output", mine.toString(), "--force");
        assertEquals(2, over.code(), over.err());
        assertTrue(over.err().contains("holds 'results.xlsx', which is not part of a table this command wrote"), over.err());
        assertEquals("the user's", Files.readString(mine.resolve("results.xlsx")));
    }

    static boolean mount(Path dir, String options) {
        try {
            Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString())
                    .redirectErrorStream(true).start();
            return p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /**
     * The rows of a written table in the order it holds them: part files in name order, each read
     * alone (Spark's readers pack files by size, so reading the folder at once promises no order).
     */
    static List<Row> inOrder(String format, Path dir) throws Exception {
        List<Row> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path part : s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
                out.addAll(spark.read().format(format).load(part.toString()).collectAsList());
            }
        }
        return out;
    }

    private static Path writeOne() throws Exception {
        Path p = tmp.resolve("one.sp");
        try (LoadedModel m = LoadedModel.load(model, "gpt2-tiny")) {
            writePrompt(m, p, Task.resolve("sst2"), 3, 4);
        }
        return p;
    }

    static void writePrompt(LoadedModel m, Path file, Task task, int n, long seed) throws Exception {
        int d = m.lm().hiddenSize();
        float[] v = new float[n * d];
        Random r = new Random(seed);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.5);
        }
        PromptFile.write(file, new Prompt(v, n, d, PromptFile.metadata(m, "gpt2-tiny", task, "random")));
    }

    // ---------------------------------------------------------------- training

    String[] train(Path out, String optimizer, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--model", model.toString(), "--task", mood.toString(),
                "--tokens", "4", "--steps", "20", "--batch-size", "8", "--optimizer", optimizer, "--lr",
                optimizer.equals("adamw") ? "0.05" : "0.3", "--seed", "5", "--eval-every", "10", "--checkpoint-every", "5",
                "--output", out.toString()));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    static float[] lastPrompt(Path sp) {
        Path run = Path.of(sp.toString().replaceAll("\\.sp$", ".run"));
        return Checkpoint.read(run.resolve(RunDir.CHECKPOINT)).prompt();
    }

    /** max |a − b| / max |a|, printed. */
    static double relative(String what, float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
        }
        double rel = diff / scale;
        System.out.printf(Locale.ROOT, "%s: largest difference %.3g (%.3g relative)%n", what, diff, rel);
        return rel;
    }

    @Test
    void dataParallelTrainingEqualsTheSingleProcess() {
        // a deep prompt in the top layer: the executors recompute the frozen layer below it, so the single process does too
        for (String[] c : new String[][] {{"adamw", "input"}, {"adafactor", "input"}, {"adamw", "deep"},
                {"adamw", "deep", "--prompt-layers", "1", "--activation-cache-mb", "0"}}) {
            String opt = c[0] + "-" + c[1] + (c.length > 2 ? "-top" : "");
            String[] depth = java.util.stream.Stream.concat(java.util.stream.Stream.of("--depth", c[1]),
                    java.util.Arrays.stream(c, 2, c.length)).toArray(String[]::new);
            Path single = tmp.resolve("single-" + opt + ".sp");
            Run a = cli(train(single, c[0], depth));
            assertEquals(0, a.code(), a.err());
            Path dist = tmp.resolve("spark-" + opt + ".sp");
            Run b = spark(train(dist, c[0], depth));
            assertEquals(0, b.code(), b.err());
            assertEquals(c.length > 2 ? PromptSite.of("deep", 1) : c[1].equals("deep") ? PromptSite.DEEP : PromptSite.INPUT,
                    PromptFile.read(dist).site());
            assertTrue(relative("spark train (local[2], 2 shards) vs train, 20 steps " + opt, lastPrompt(single),
                    lastPrompt(dist)) <= 1e-5);
            assertTrue(relative("best prompt " + opt, PromptFile.read(single).values(), PromptFile.read(dist).values()) <= 1e-5);
        }
    }

    @Test
    void aKilledRunResumesToTheSameResultAcrossTheTwoModes() throws Exception {
        Path single = tmp.resolve("whole.sp");
        assertEquals(0, cli(train(single, "adamw")).code());
        List<String> jvm = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "-Xmx1g", "-Dspark.master=local[2]", "-Dspark.ui.enabled=false"));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("-XX:+Ignore") || arg.startsWith("-Djdk.reflect")
                    || arg.startsWith("-Dio.netty") || arg.startsWith("-Dai.djl")) {
                jvm.add(arg);
            }
        }
        // a Spark driver killed mid-run, resumed by the plain CLI; a CLI run killed, resumed on Spark
        for (boolean sparkFirst : new boolean[] {true, false}) {
            String name = sparkFirst ? "spark-killed" : "cli-killed";
            Path out = tmp.resolve(name + ".sp");
            Path run = tmp.resolve(name + ".run");
            List<String> cmd = new ArrayList<>(jvm);
            cmd.add(sparkFirst ? SparkMain.class.getName() : Main.class.getName());
            cmd.addAll(Arrays.asList(train(out, "adamw", "--debug-step-delay-ms", "300")));
            Path log = tmp.resolve(name + ".log");
            Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            int seen = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (seen < 5 && System.nanoTime() < deadline && child.isAlive()) {
                Thread.sleep(50);
                if (Files.isRegularFile(run.resolve(RunDir.CHECKPOINT))) {
                    seen = Checkpoint.read(run.resolve(RunDir.CHECKPOINT)).state().step();
                }
            }
            assertTrue(child.isAlive(), name + ": still training when killed: " + Files.readString(log));
            child.destroyForcibly();
            assertEquals(137, child.waitFor(), "killed by SIGKILL");
            int at = Checkpoint.read(run.resolve(RunDir.CHECKPOINT)).state().step();
            assertTrue(at >= 5 && at < 20, "killed mid-run, after step " + at);
            Run resumed = sparkFirst ? cli("train", "--resume", run.toString()) : spark("train", "--resume", run.toString());
            assertEquals(0, resumed.code(), resumed.err());
            assertTrue(resumed.err().contains("resuming " + run + " at step " + at), resumed.err());
            assertTrue(relative((sparkFirst ? "spark driver killed at step " + at + ", resumed by the CLI"
                    : "CLI run killed at step " + at + ", resumed on spark") + ", vs uninterrupted train", lastPrompt(single),
                    lastPrompt(out)) <= 1e-5);
        }
    }

    @Test
    void shardsAreContiguousNonEmptyAndSumsAdd() {
        List<Encoder.Encoded> rows = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            rows.add(new Encoder.Encoded(new long[] {i}, 0));
        }
        List<List<Encoder.Encoded>> s = SparkTraining.shards(rows, 3);
        assertEquals(List.of(2, 2, 3), s.stream().map(List::size).toList());
        assertEquals(rows, s.stream().flatMap(List::stream).toList());
        assertEquals(2, SparkTraining.shards(rows.subList(0, 2), 8).size());
        DataParallel.Sums a = new DataParallel.Sums(1.5, new double[] {1, 2}, 3);
        DataParallel.Sums b = a.plus(new DataParallel.Sums(0.5, new double[] {3, 4}, 1));
        assertEquals(2.0, b.loss());
        assertEquals(4, b.terms());
        assertEquals(List.of(4.0, 6.0), Arrays.stream(b.gradient()).boxed().toList());
        assertEquals(List.of(1.0, 2.0), Arrays.stream(a.gradient()).boxed().toList(), "operands untouched");
    }
}
