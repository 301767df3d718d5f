package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.train.Checkpoint;
import io.softprompt.train.RunDir;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Training prompts that reach only the top layers from the command line: with the activation cache and
 * without it the runs follow one trajectory (within float16's rounding of the kept states); a killed run
 * resumes to the uninterrupted run's bytes, the cache rebuilt; the .sp records its depth (format 1.2) and
 * evaluates to the run's figure; PEFT export and impossible layer counts are refused in one line.
 */
class PartialDepthTrainingTest {
    static Path tmp;

    @BeforeAll
    static void data() throws Exception {
        TrainingRunTest.tmp = Files.createTempDirectory("partial-depth");
        TrainingRunTest.data();
        tmp = TrainingRunTest.tmp;
    }

    static List<Double> losses(Path run) throws Exception {
        List<Double> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve(RunDir.METRICS))) {
            JsonNode j = Json.MAPPER.readTree(line);
            if (j.has("loss")) {
                out.add(j.get("loss").asDouble());
            }
        }
        return out;
    }

    @Test
    void cachedAndUncachedRunsFollowOneTrajectory() throws Exception {
        for (String[] site : List.of(new String[] {"--depth", "deep", "--prompt-layers", "1"},
                new String[] {"--depth", "late", "--prompt-layers", "1"})) {
            String name = site[1];
            Cli.Run kept = Cli.run(TrainingRunTest.train(name + "-kept.sp", site));
            assertEquals(0, kept.code(), kept.err());
            List<String> plain = new ArrayList<>(Arrays.asList(site));
            plain.addAll(List.of("--activation-cache-mb", "0"));
            Cli.Run recomputed = Cli.run(TrainingRunTest.train(name + "-recomputed.sp", plain.toArray(String[]::new)));
            assertEquals(0, recomputed.code(), recomputed.err());
            List<Double> a = losses(tmp.resolve(name + "-kept.run"));
            List<Double> b = losses(tmp.resolve(name + "-recomputed.run"));
            assertEquals(b.size(), a.size());
            assertTrue(a.size() >= 8, "several logged steps");
            double worst = 0;
            for (int i = 0; i < a.size(); i++) {
                worst = Math.max(worst, Math.abs(a.get(i) - b.get(i)) / Math.abs(b.get(i)));
            }
            // the last step's prompt (the checkpoint's), not the best one, which an early evaluation may have fixed
            float[] pa = Checkpoint.read(tmp.resolve(name + "-kept.run").resolve(RunDir.CHECKPOINT)).prompt();
            float[] pb = Checkpoint.read(tmp.resolve(name + "-recomputed.run").resolve(RunDir.CHECKPOINT)).prompt();
            double diff = 0;
            double scale = 0;
            for (int i = 0; i < pa.length; i++) {
                diff = Math.max(diff, Math.abs(pa[i] - pb[i]));
                scale = Math.max(scale, Math.abs(pb[i]));
            }
            JsonNode fin = Json.MAPPER.readTree(tmp.resolve(name + "-kept.run").resolve(RunDir.FINAL).toFile());
            System.out.printf(Locale.ROOT, "CACHED-TRAJECTORY %s prompt, 40 steps: largest relative loss difference %.2e, "
                    + "prompt at step 40 %.2e (kept %s rows, %s hits)%n", name, worst, diff / scale,
                    fin.get("activation_cache").get("rows"), fin.get("activation_cache").get("hits"));
            assertTrue(fin.get("activation_cache").get("hits").asLong() > fin.get("activation_cache").get("rows").asLong(),
                    "every row was read again after it was kept");
            assertFalse(Json.MAPPER.readTree(tmp.resolve(name + "-recomputed.run").resolve(RunDir.FINAL).toFile())
                    .has("activation_cache"), "a budget of 0 keeps nothing");
            assertTrue(worst <= 2e-3, name + ": loss " + worst);
            assertTrue(diff / scale <= 2e-3, name + ": prompt " + diff / scale);
            assertTrue(diff > 0, name + ": the kept states are float16, so the runs differ a little: both paths ran");
        }
    }

    @Test
    void killedThenResumedWithTheCacheEndsWithTheSameBytes() throws Exception {
        String[] site = {"--depth", "deep", "--prompt-layers", "1", "--optimizer", "adamw", "--schedule", "cosine"};
        Cli.Run whole = Cli.run(TrainingRunTest.train("whole-partial.sp", site));
        assertEquals(0, whole.code(), whole.err());
        Path run = tmp.resolve("killed-partial.run");
        List<String> args = new ArrayList<>(Arrays.asList(site));
        args.addAll(List.of("--debug-step-delay-ms", "150"));
        int at = TrainingRunTest.killedMidRun(run, tmp.resolve("child-partial.log"),
                TrainingRunTest.train("killed-partial.sp", args.toArray(String[]::new)));
        Cli.Run resumed = Cli.run("train", "--resume", run.toString(), "--json");
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(at, Json.MAPPER.readTree(resumed.out()).get("resumed_from_step").asInt());
        assertArrayEquals(TrainingRunTest.promptBytes(tmp.resolve("whole-partial.sp")),
                TrainingRunTest.promptBytes(tmp.resolve("killed-partial.sp")),
                "a killed-then-resumed run with kept states ends with the uninterrupted run's bytes");
        try (var files = Files.list(run)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith("activations-")), "no cache file left");
        }
    }

    @Test
    void theFileRecordsItsLayersEvaluatesAsTrainedAndRefusesPeft() throws Exception {
        Cli.Run r = Cli.run(TrainingRunTest.train("top.sp", "--depth", "deep", "--prompt-layers", "1", "--json"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("deep prompt in the top 1 layers"), r.err());
        assertTrue(r.err().matches("(?s).*\\nactivation cache: [1-9][0-9]* rows' states kept \\([0-9.]+ MB in memory.*"), r.err());
        Path sp = tmp.resolve("top.sp");
        var meta = SafetensorsFile.open(sp).metadata();
        assertEquals("1.2", meta.get(PromptFile.FORMAT_VERSION));
        assertEquals("partial", meta.get(PromptFile.DEPTH));
        assertEquals("1", meta.get(PromptFile.LAYERS));
        Prompt p = PromptFile.read(sp);
        assertEquals(p.tokens() * p.site().width(io.softprompt.loader.LoadedModel.load(TrainingRunTest.model, "x").lm()),
                p.values().length);
        double best = Json.MAPPER.readTree(r.out()).get("best_dev_accuracy").asDouble();
        Cli.Run eval = Cli.run("eval", "--prompt", sp.toString(), "--model", TrainingRunTest.model.toString(),
                "--data", tmp.resolve("mood-dev.tsv").toString(), "--json");
        assertEquals(0, eval.code(), eval.err());
        assertEquals(best, Json.MAPPER.readTree(eval.out()).get("accuracy").asDouble(), 1e-9, eval.out());
        Cli.Run peft = Cli.run("export", "--prompt", sp.toString(), "--model", TrainingRunTest.model.toString(), "--to", "peft",
                tmp.resolve("top-adapter").toString());
        assertEquals(2, peft.code(), peft.err());
        assertTrue(peft.errLine().contains("no PEFT equivalent"), peft.err());
        assertFalse(Files.exists(tmp.resolve("top-adapter")));

        Cli.Run late = Cli.run(TrainingRunTest.train("late.sp", "--depth", "late", "--prompt-layers", "1"));
        assertEquals(0, late.code(), late.err());
        var lm = SafetensorsFile.open(tmp.resolve("late.sp")).metadata();
        assertEquals("late", lm.get(PromptFile.DEPTH));
        Cli.Run both = Cli.run("infer", "--prompt", sp.toString(), "--prompt", tmp.resolve("late.sp").toString(),
                "--model", TrainingRunTest.model.toString(), "--ensemble", "mean", "great and fine");
        assertEquals(0, both.code(), both.err());

        // inspect: a late prompt's norms at its entry layer, no nearest tokens (they are not embeddings), no --project
        Cli.Run in = Cli.run("inspect", "--prompt", tmp.resolve("late.sp").toString(), "--model",
                TrainingRunTest.model.toString(), "--json");
        assertEquals(0, in.code(), in.err());
        var j = Json.MAPPER.readTree(in.out());
        assertEquals("late", j.get("depth").asText());
        int layers = io.softprompt.loader.LoadedModel.load(TrainingRunTest.model, "x").lm().attention().layers();
        assertEquals(layers - 1, j.get("entry_layer").asInt());
        assertEquals(j.get("tokens").asInt(), j.get("norms").size());
        assertTrue(j.get("norms").get(0).asDouble() > 0, in.out());
        assertTrue(j.get("nearest_tokens").isNull(), in.out());
        Cli.Run proj = Cli.run("inspect", "--prompt", tmp.resolve("late.sp").toString(), "--model",
                TrainingRunTest.model.toString(), "--project");
        assertEquals(2, proj.code(), proj.err());
        assertTrue(proj.errLine().contains("is a late prompt"), proj.err());
    }

    @Test
    void aTransferKeepsItsSourcesSiteAndRefusesAnotherInOneLine() throws Exception {
        for (String[] kind : new String[][] {{"partial", "deep"}, {"late", "late"}}) {
            Path source = tmp.resolve("source-" + kind[0] + ".sp");
            assertEquals(0, Cli.run(TrainingRunTest.train(source.getFileName().toString(), "--depth", kind[1], "--prompt-layers", "1",
                    "--steps", "3")).code());
            // depth auto follows the source, its layers too; step 0 is the source's values, as they are
            Path to = tmp.resolve("from-" + kind[0] + ".sp");
            Cli.Run r = Cli.run(TrainingRunTest.train(to.getFileName().toString(), "--init-from", source.toString(), "--steps", "0"));
            assertEquals(0, r.code(), r.err());
            Prompt from = PromptFile.read(source);
            Prompt got = PromptFile.read(to);
            assertEquals(from.site(), got.site(), kind[0]);
            assertArrayEquals(from.values(), got.values(), 0f, kind[0] + ": starts where the source ended");
        }
        // a deep prompt in every layer is not a top-1 prompt: refused before the run folder, naming both
        assertEquals(0, Cli.run(TrainingRunTest.train("source-deep.sp", "--depth", "deep", "--steps", "2")).code());
        Cli.Run r = Cli.run(TrainingRunTest.train("x-from-deep.sp", "--init-from", tmp.resolve("source-deep.sp").toString(),
                "--depth", "deep", "--prompt-layers", "1"));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.errLine().contains("source-deep.sp: a deep prompt") && r.errLine().contains("--depth deep --prompt-layers 1")
                && r.errLine().contains("starts from an input prompt"), r.err());
        assertFalse(Files.exists(tmp.resolve("x-from-deep.sp")));
    }

    @Test
    void impossibleLayerCountsAreRefusedInOneLine() {
        String[][] cases = {
            {"at least 3 layers", "--depth", "deep", "--prompt-layers", "3"},
            {"{{depth}} late needs", "--depth", "late"},
            {"add --depth deep or late", "--depth", "input", "--prompt-layers", "1"},
            {"--prompt-layers must be at least 1", "--depth", "deep", "--prompt-layers", "0"},
        };
        for (String[] c : cases) {
            Cli.Run r = Cli.run(TrainingRunTest.train("refused.sp", Arrays.copyOfRange(c, 1, c.length)));
            assertEquals(2, r.code(), r.err());
            String want = c[0].replace("{{depth}}", "--depth");
            assertTrue(r.errLine().contains(want), want + ": " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace");
        }
    }
}
