package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.util.Json;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train → eval → infer in-process, on the embedded default model (sentiment-lm), the demo model and the gpt2 fixture. */
class CliEndToEndTest {
    @TempDir
    Path tmp;

    String[] demo(String... args) {
        String[] base = {"--models-dir", tmp.resolve("models").toString()};
        String[] all = Arrays.copyOf(args, args.length + base.length);
        System.arraycopy(base, 0, all, args.length, base.length);
        return all;
    }

    @Test
    void trainEvalInferOnTheDefaultModel() throws Exception {
        Path sp = tmp.resolve("out/sst2.sp");
        // no --model: offline in tests, so the embedded sentiment-lm is extracted and used, with its SST-2 data and a note
        Cli.Run t = Cli.run(demo("train", "--task", "sst2", "--tokens", "5", "--steps", "12", "--eval-every", "6",
                "--json", "-o", sp.toString()));
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("using the embedded sentiment-lm") && t.err().contains("not a pretrained language model"),
                t.err());
        assertTrue(t.err().contains("33674 train, 872 dev examples"), "its own SST-2 data: " + t.err());
        assertTrue(t.err().contains("step 12/12"), "plain progress lines when not on a terminal: " + t.err());
        JsonNode j = Json.MAPPER.readTree(t.out());
        for (String key : List.of("train_examples_per_sec", "eval_examples_per_sec", "best_dev_accuracy", "steps",
                "wall_seconds", "peak_rss_mb")) {
            assertTrue(j.hasNonNull(key), "json has " + key + ": " + t.out());
        }
        assertEquals(12, j.get("steps").asInt());
        assertTrue(j.get("train_examples_per_sec").asDouble() > 0);
        assertTrue(j.get("peak_rss_mb").asDouble() > 0);

        Prompt p = PromptFile.read(sp);
        assertEquals(5, p.tokens());
        assertEquals("sentiment-lm", p.meta(PromptFile.MODEL_NAME));
        for (String key : List.of(PromptFile.MODEL_TYPE, PromptFile.HIDDEN_SIZE, PromptFile.VOCAB_SIZE,
                PromptFile.MODEL_FINGERPRINT, PromptFile.INIT, PromptFile.TASK, PromptFile.TEMPLATE,
                PromptFile.VERBALIZER, PromptFile.TOKENIZER, PromptFile.TRAIN_CONFIG, PromptFile.METRICS,
                PromptFile.CREATED)) {
            assertTrue(p.metadata().containsKey(key), "metadata " + key);
        }
        assertEquals(j.get("best_dev_accuracy").asDouble(),
                Json.MAPPER.readTree(p.meta(PromptFile.METRICS)).get("dev").get("accuracy").asDouble(), 0.0);

        // eval on the same dev data reproduces the best dev accuracy recorded at training time
        Cli.Run e = Cli.run(demo("eval", "--prompt", sp.toString(), "--json"));
        assertEquals(0, e.code(), e.err());
        JsonNode ej = Json.MAPPER.readTree(e.out());
        assertEquals(j.get("best_dev_accuracy").asDouble(), ej.get("accuracy").asDouble(), 1e-9);
        assertEquals(872, ej.get("examples").asInt(), "the dev file it was trained with: SST-2 dev");
        long total = 0;
        for (JsonNode row : ej.get("confusion")) {
            for (JsonNode c : row) {
                total += c.asLong();
            }
        }
        assertEquals(872, total);
        // beside it, the baseline a prompt must beat: always the most frequent dev class (SST-2 dev: 444 of 872)
        assertEquals(444 / 872.0, ej.get("majority_accuracy").asDouble(), 1e-9);
        Cli.Run text = Cli.run(demo("eval", "--prompt", sp.toString()));
        assertTrue(text.out().contains("(always the most frequent class: 0.5092)"), text.out());
        // the device as the user writes it, not DJL's "cpu()"
        assertTrue(t.err().contains(", cpu, float32)"), t.err());
        assertTrue(t.err().contains("note: 12 steps are a smoke test; for real learning on sentiment-lm train with --config "
                + "configs/train-sentiment-lm-deep.json"), "the last line says how far it got and which recipe learns: " + t.err());
        assertFalse(t.err().contains("cpu()"), t.err());

        // infer: arguments, then standard input; probabilities sum to one
        Cli.Run i = Cli.run(demo("infer", "--prompt", sp.toString(), "--json", "a charming film", "dull and flat"));
        assertEquals(0, i.code(), i.err());
        String[] lines = i.out().strip().split("\n");
        assertEquals(2, lines.length);
        for (String line : lines) {
            JsonNode r = Json.MAPPER.readTree(line);
            double sum = r.get("probabilities").get("0").asDouble() + r.get("probabilities").get("1").asDouble();
            assertEquals(1.0, sum, 1e-5);
            assertTrue(List.of("0", "1").contains(r.get("label").asText()));
        }
        InputStream old = System.in;
        try {
            System.setIn(new ByteArrayInputStream("a charming film\ndull and flat\n".getBytes(StandardCharsets.UTF_8)));
            Cli.Run s = Cli.run(demo("infer", "--prompt", sp.toString(), "--json"));
            assertEquals(0, s.code(), s.err());
            assertEquals(i.out(), s.out(), "stdin gives the same answers as arguments (a blank line: NewcomerTest)");
        } finally {
            System.setIn(old);
        }
    }

    @Test
    void helpAndVersionPrintCleanly() {
        for (String cmd : List.of("train", "eval", "infer")) {
            Cli.Run r = Cli.run(cmd, "--help");
            assertEquals(0, r.code());
            assertTrue(r.out().contains("Usage: softprompt " + cmd), r.out());
            assertFalse(r.err().contains("WARN") || r.out().contains("WARN"), "help text formats: " + r.err());
        }
        Cli.Run top = Cli.run("--help");
        assertTrue(top.out().contains("Exit codes") && top.out().contains("2   bad input"), top.out());
        assertTrue(Cli.run("--version").out().startsWith("softprompt "));
    }

    @Test
    void sameSeedGivesTheSamePromptBytes() throws Exception {
        Path a = tmp.resolve("a.sp");
        Path b = tmp.resolve("b.sp");
        Path c = tmp.resolve("c.sp");
        for (Path p : List.of(a, b)) {
            assertEquals(0, Cli.run(demo("train", "--model", "demo", "--tokens", "4", "--steps", "8", "--seed", "7",
                    "-o", p.toString())).code());
        }
        assertEquals(0, Cli.run(demo("train", "--model", "demo", "--tokens", "4", "--steps", "8", "--seed", "8",
                "-o", c.toString())).code());
        byte[] ba = bytes(a);
        assertArrayEquals(ba, bytes(b), "same seed, data and machine: identical prompt_embeddings");
        assertFalse(Arrays.equals(ba, bytes(c)), "another seed gives another prompt");
    }

    static byte[] bytes(Path sp) {
        var buf = SafetensorsFile.open(sp).rawBytes(PromptFile.TENSOR);
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    @Test
    void trainsOnAHuggingFaceFolderWithACustomTask() throws Exception {
        Path model = Fixtures.of("gpt2");
        Path task = tmp.resolve("mood.json");
        Files.writeString(task, """
                {"name": "mood", "template": "{text} it was", "text_column": "text", "label_column": "y",
                 "verbalizer": {"neg": " bad", "pos": " good"}, "train": "mood-train.tsv", "dev": "mood-dev.tsv"}
                """);
        StringBuilder rows = new StringBuilder("text\ty\n");
        for (int k = 0; k < 12; k++) {
            rows.append("the movie was great and fine\tpos\n").append("a dull boring plot\tneg\n");
        }
        Files.writeString(tmp.resolve("mood-train.tsv"), rows);
        Files.writeString(tmp.resolve("mood-dev.tsv"), rows);
        Path sp = tmp.resolve("mood.sp");
        Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3",
                "--steps", "40", "--lr", "0.3", "--eval-every", "20", "--init", "labels", "--objective", "lm",
                "--json", "-o", sp.toString());
        assertEquals(0, t.code(), t.err());
        JsonNode j = Json.MAPPER.readTree(t.out());
        assertEquals(1.0, j.get("best_dev_accuracy").asDouble(), 0.0,
                "a two-sentence task is learnable by the prompt alone: " + t.err());
        Cli.Run i = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "a dull boring plot");
        assertEquals(0, i.code(), i.err());
        assertTrue(i.out().startsWith("neg (bad)"), i.out());
    }

    /**
     * --revision on a hub id: a branch in a Hugging Face cache laid out as huggingface_hub writes it
     * (no network: the tests run offline) resolves to its commit, which the prompt file records, so
     * infer with no --model finds the same snapshot.
     */
    @Test
    void revisionPinsAHubModelToTheCommitItsBranchNames() throws Exception {
        Path cache = tmp.resolve("hf-hub");
        String commit = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";
        Path snap = Fixtures.hfCache(cache, "test-org/tiny", commit, "dev", Fixtures.of("gpt2"));
        String old = System.getProperty("softprompt.hf.cache");
        System.setProperty("softprompt.hf.cache", cache.toString());
        try {
            Path sp = tmp.resolve("rev.sp");
            Path data = tmp.resolve("rev.tsv");
            Files.writeString(data, "sentence\tlabel\na fine film\t1\na dull plot\t0\n");
            Cli.Run t = Cli.run("train", "--task", "sst2", "--model", "test-org/tiny", "--revision", "dev",
                    "--tokens", "2", "--steps", "2", "--train", data.toString(), "--dev", data.toString(), "-o", sp.toString());
            assertEquals(0, t.code(), t.err());
            assertEquals("test-org/tiny@" + commit, PromptFile.read(sp).meta(PromptFile.MODEL_NAME));
            Cli.Run i = Cli.run("infer", "--prompt", sp.toString(), "a fine film");
            assertEquals(0, i.code(), i.err());

            Cli.Run main = Cli.run("infer", "--prompt", sp.toString(), "--model", "test-org/tiny", "x");
            assertEquals(2, main.code());
            assertTrue(main.errLine().contains("HF_HUB_OFFLINE"), main.err());
            Cli.Run folder = Cli.run("infer", "--prompt", sp.toString(), "--model", snap.toString(), "--revision", "dev", "x");
            assertEquals(2, folder.code());
            assertEquals("softprompt: error: --revision applies to a hub id given with --model ('" + snap + "' is a folder)",
                    folder.errLine());
        } finally {
            if (old == null) {
                System.clearProperty("softprompt.hf.cache");
            } else {
                System.setProperty("softprompt.hf.cache", old);
            }
        }
    }
}
