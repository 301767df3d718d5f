package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 35's newcomer bugs, each as a new user met it. */
class NewcomerTest {
    @TempDir
    static Path tmp;
    static Path task;
    static Path input;
    static String gpt2;

    @BeforeAll
    static void trained() {
        try {
            task = Fixtures.moodTask(tmp, 3);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        gpt2 = Fixtures.of("gpt2").toString();
        input = tmp.resolve("input.sp");
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "3", "--steps", "1",
                "--batch-size", "2", "--depth", "input", "-o", input.toString());
        assertEquals(0, r.code(), r.err());
    }

    static String refused(String... args) {
        return SafeEdgesTest.refused(args);
    }

    /** Issue 35: infer --json dropped blank lines of standard input, so its output had fewer lines than its input. */
    @Test
    void jsonAnswersEveryLineOfStandardInput() throws Exception {
        java.io.InputStream old = System.in;
        System.setIn(new java.io.ByteArrayInputStream("a fine film\n\n   \ndull\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        Cli.Run r;
        try {
            r = Cli.run("infer", "--prompt", input.toString(), "--model", gpt2, "--json");
        } finally {
            System.setIn(old);
        }
        assertEquals(4, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(4, lines.length, "one line per input line: " + r.out());
        assertTrue(lines[0].contains("\"label\"") && lines[3].contains("\"label\""), r.out());
        assertTrue(lines[1].contains("\"error\":\"empty input\"") && lines[2].contains("\"error\""), r.out());
        assertTrue(refused("infer", "--prompt", input.toString(), "--model", gpt2, "fine", " ").contains("TEXT argument 2 is blank"));
    }

    /** The confusion matrix showed label ids alone ("neg", "0"); each class is its label and word now. */
    @Test
    void theConfusionMatrixNamesEachClassByItsWord() {
        Cli.Run r = Cli.run("eval", "--prompt", input.toString(), "--model", gpt2, "--data", tmp.resolve("mood.tsv").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("neg (bad)") && r.out().contains("pos (good)"), r.out());
    }

    /** A text,label CSV was refused for SST-2 (it wants "sentence"): --text-column/--label-column name the data's columns. */
    @Test
    void aDataFilesOwnColumnsAreNamedByFlags() throws Exception {
        java.nio.file.Path csv = java.nio.file.Files.writeString(tmp.resolve("mine.csv"),
                "review,stars\n\"a fine, witty film\",1\na dull plot,0\ngreat acting,1\nboring,0\n");
        java.nio.file.Path sp = tmp.resolve("cols.sp");
        String refusedLine = refused("train", "--task", "sst2", "--model", gpt2, "--train", csv.toString(), "--steps", "1",
                "-o", sp.toString());
        assertTrue(refusedLine.contains("no column 'sentence'"), refusedLine);
        Cli.Run r = Cli.run("train", "--task", "sst2", "--model", gpt2, "--train", csv.toString(), "--dev", csv.toString(),
                "--text-column", "review", "--label-column", "stars", "--steps", "2", "--tokens", "2", "--depth", "input",
                "-o", sp.toString());
        assertEquals(0, r.code(), r.err());
        Cli.Run e = Cli.run("eval", "--prompt", sp.toString(), "--model", gpt2, "--data", csv.toString(), "--json");
        assertEquals(0, e.code(), "the prompt records the columns it was trained with: " + e.err());
        Cli.Run other = Cli.run("eval", "--prompt", sp.toString(), "--model", gpt2, "--data", tmp.resolve("mood.tsv").toString(),
                "--text-column", "text", "--label-column", "y");
        assertEquals(2, other.code(), "mood's labels are not SST-2's: " + other.err());
        assertTrue(other.err().contains("label 'pos' is not in the verbalizer"), other.err());
    }

    /** Every evaluation scored every dev row; --eval-samples scores a seeded sample, then the best prompt on all rows. */
    @Test
    void evaluationsCanScoreASampleOfTheDevSet() throws Exception {
        java.nio.file.Path sp = tmp.resolve("sampled.sp");
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "2", "--steps", "4", "--eval-every", "2",
                "--batch-size", "2", "--eval-samples", "2", "--json", "-o", sp.toString());
        assertEquals(0, r.code(), r.err());
        com.fasterxml.jackson.databind.JsonNode j = io.softprompt.util.Json.MAPPER.readTree(r.out());
        assertEquals(6, j.get("dev_rows").asInt(), r.out());
        assertTrue(r.err().contains("on 2 sampled rows;") && r.err().contains("on all 6 dev rows"), r.err());
        for (String line : java.nio.file.Files.readAllLines(tmp.resolve("sampled.run/metrics.jsonl"))) {
            com.fasterxml.jackson.databind.JsonNode n = io.softprompt.util.Json.MAPPER.readTree(line);
            if (n.has("dev")) {
                assertEquals(2, n.get("dev").get("examples").asInt(), "every evaluation on the same 2 rows: " + line);
            }
        }
        Cli.Run e = Cli.run("eval", "--prompt", sp.toString(), "--model", gpt2, "--data", tmp.resolve("mood.tsv").toString(), "--json");
        assertEquals(j.get("best_dev_accuracy_all_rows").asDouble(),
                io.softprompt.util.Json.MAPPER.readTree(e.out()).get("accuracy").asDouble(), 0.0, "eval agrees on all rows");
    }

    /** The banner said "(constant)" while a 10% warm-up applied, and rates were written two ways (0.03, 3.00e-02). */
    @Test
    void theBannerSaysTheScheduleThatRunsAndRatesOneWay() {
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "2", "--steps", "20",
                "--batch-size", "2", "--depth", "input", "-o", tmp.resolve("banner.sp").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("20 steps, adamw lr 0.0300 (2 warm-up steps, then constant)"), r.err());
        assertTrue(!r.err().contains("e-02"), "one format for rates: " + r.err());
    }

    /** eval's and infer's help did not say their exit codes; every command's help does now. */
    @Test
    void everyCommandsHelpListsItsExitCodes() {
        var cl = Main.commandLine();
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals("help") || e.getKey().equals("completion")) {
                continue;
            }
            String help = e.getValue().getUsageMessage();
            assertTrue(help.contains("Exit codes:") && help.contains("bad input"), e.getKey() + ":\n" + help);
        }
    }

    /**
     * Following the Tour offline and dropping --model trained the embedded model on SST-2 rows it saw
     * with labels, and nothing warned; a run of the embedded model on data files of one's own warns.
     * Run anywhere, the command line left a models/ folder in the working folder; it unpacks into the
     * user's cache unless a models folder is named.
     */
    @Test
    void theEmbeddedModelOnOnesOwnSst2FilesWarns() throws Exception {
        java.nio.file.Path rows = java.nio.file.Files.writeString(tmp.resolve("sst2.tsv"),
                "sentence\tlabel\na fine film\t1\na dull plot\t0\ngreat\t1\nboring\t0\n");
        java.nio.file.Path models = tmp.resolve("named-models");
        Cli.Run r = Cli.run("train", "--task", "sst2", "--train", rows.toString(), "--dev", rows.toString(), "--steps", "1",
                "--tokens", "2", "--depth", "input", "--models-dir", models.toString(), "-o", tmp.resolve("emb.sp").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: sentiment-lm was trained on SST-2's training rows"), r.err());
        assertTrue(java.nio.file.Files.isRegularFile(models.resolve("sentiment-lm/config.json")), "--models-dir is where it unpacks");
        Cli.Run infer = Cli.run("infer", "--prompt", tmp.resolve("emb.sp").toString(), "fine");
        assertEquals(0, infer.code(), infer.err());
        assertTrue(!java.nio.file.Files.exists(java.nio.file.Path.of("models", "sentiment-lm")),
                "nothing unpacked into the working folder: " + java.nio.file.Path.of("").toAbsolutePath());
    }
}
