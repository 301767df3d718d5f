package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 34's defects that the command line shows, each as the hostile trial met it: an internal error
 * (exit 1) or a silent loss where one line and exit 2 are due, a run folder a refused train left
 * behind, a file's word trusted, a PEFT-written adapter replaced. Each failed before its fix.
 */
class HostileEdgesTest {
    @TempDir
    static Path tmp;
    static Path task;
    static String gpt2;
    static Path input;
    static Path deep;

    @BeforeAll
    static void trained() throws Exception {
        task = Fixtures.moodTask(tmp, 3);
        gpt2 = Fixtures.of("gpt2").toString();
        input = tmp.resolve("input.sp");
        deep = tmp.resolve("deep.sp");
        for (Path out : new Path[] {input, deep}) {
            Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "3", "--steps", "1",
                    "--batch-size", "2", "--depth", out == deep ? "deep" : "input", "-o", out.toString());
            assertEquals(0, r.code(), r.err());
        }
    }

    static String refused(String... args) {
        return SafeEdgesTest.refused(args);
    }

    static Path textToTextTask() throws Exception {
        Files.writeString(tmp.resolve("echo.jsonl"), "{\"input\": \"a fine film\", \"target\": \"good\"}\n".repeat(4));
        return Files.writeString(tmp.resolve("echo.json"), "{\"name\": \"echo\", \"type\": \"text-to-text\", "
                + "\"template\": \"{input} it was\", \"train\": \"echo.jsonl\", \"dev\": \"echo.jsonl\"}");
    }

    static Path edited(Path from, String name, Map<String, String> meta) throws Exception {
        Path out = tmp.resolve(name);
        PromptFile.write(out, PromptFile.read(from).withMetadata(meta));
        return out;
    }

    @Test
    void aNulInAPathFromAFileIsOneLine() throws Exception {
        Path sp = edited(input, "nul-model.sp", Map.of(PromptFile.MODEL_NAME, gpt2 + "\u0000x"));
        String e = refused("infer", "--prompt", sp.toString(), "some text");
        assertTrue(e.contains("neither a folder nor a hub id") && e.contains("Nul character"), e); // the quoted path is cut at 60 characters
        Path cfg = edited(input, "nul-config.sp", Map.of(PromptFile.TRAIN_CONFIG, "{\"train\":\"/tmp/a\\u0000b\",\"model\":\"m\\u0000\"}"));
        Cli.Run r = Cli.run("export", "--prompt", cfg.toString(), "--to", "peft", tmp.resolve("nul-adapter").toString());
        assertEquals(0, r.code(), "a path in train_config is shown by its last name, NUL or not: " + r.err());
        assertFalse(Files.readString(tmp.resolve("nul-adapter/README.md")).contains("\u0000"));
    }

    @Test
    void countsAFlagCannotHoldAreRefusedBeforeTheServerStarts() {
        String e = refused("serve", "--model", gpt2, "--prompts", input.toString(), "--max-body-bytes", "2147483647");
        assertEquals("softprompt: error: --max-body-bytes must be at most 1073741824 (got 2147483647)", e);
    }

    @Test
    void aLoggingDirWithoutTensorBoardIsRefused() {
        String e = refused("train", "--task", task.toString(), "--model", gpt2, "--steps", "1", "--logging-dir",
                tmp.resolve("tb").toString(), "-o", tmp.resolve("tb.sp").toString());
        assertTrue(e.contains("--logging-dir") && e.contains("--report-to tensorboard"), e);
    }

    /**
     * A train refused after its run folder was made left config.json there, so the corrected rerun
     * needed --force. Each refusal now comes before the folder's first file: the same command refused
     * twice says the same thing (not "pass --force"), and no folder is left behind.
     */
    @Test
    void aRefusedTrainLeavesNoRunFolderBehind() throws Exception {
        Path tbFile = Files.writeString(tmp.resolve("a-file"), "x");
        Path t5task = textToTextTask();
        String[][] cases = {
            {"--init-from", deep.toString(), "--reparam", "mlp"},
            {"--init-from", deep.toString(), "--depth", "input"},
            {"--report-to", "tensorboard", "--logging-dir", tbFile.resolve("tb").toString()},
            {"--reparam", "mlp", "--reparam-hidden", "1000000"},
            {"--model", Fixtures.of("t5").toString(), "--task", t5task.toString(), "--depth", "deep"},
        };
        int k = 0;
        for (String[] extra : cases) {
            Path out = tmp.resolve("refused-" + k++ + ".sp");
            Map<String, String> flags = new LinkedHashMap<>(Map.of("--task", task.toString(), "--model", gpt2));
            for (int i = 0; i < extra.length; i += 2) {
                flags.put(extra[i], extra[i + 1]);
            }
            String[] args = new String[3 + 2 * flags.size() + 4];
            int a = 0;
            args[a++] = "train";
            for (var f : flags.entrySet()) {
                args[a++] = f.getKey();
                args[a++] = f.getValue();
            }
            for (String s : new String[] {"--steps", "1", "--tokens", "2", "-o", out.toString()}) {
                args[a++] = s;
            }
            String first = refused(args);
            String second = refused(args);
            assertEquals(first, second, "the rerun meets the same refusal, not the folder the first left");
            assertFalse(first.contains("--force"), first);
            assertFalse(Files.exists(tmp.resolve("refused-" + (k - 1) + ".run")), "no run folder left: " + first);
            System.out.println("REFUSED " + String.join(" ", extra) + " -> " + first);
        }
    }

    @Test
    void exportChecksADeepPromptsLayoutAgainstItsModel() throws Exception {
        Path lying = edited(deep, "lying.sp", Map.of(PromptFile.PREFIX_LAYERS, "1"));
        String e = refused("export", "--prompt", lying.toString(), "--to", "peft", tmp.resolve("lying-adapter").toString());
        assertTrue(e.contains("prefix_layers '1' is not model") && e.contains("2"), e);
        assertFalse(Files.exists(tmp.resolve("lying-adapter")));
        Cli.Run ok = Cli.run("export", "--prompt", deep.toString(), "--to", "peft", tmp.resolve("true-adapter").toString());
        assertEquals(0, ok.code(), ok.err());
    }

    @Test
    void aNonIntegerReparamHiddenInAPromptIsOneLine() throws Exception {
        Path sp = edited(input, "mlp-lies.sp", Map.of(PromptFile.TRAIN_CONFIG, "{\"reparam\":\"mlp\",\"reparam_hidden\":\"5.5\"}"));
        String e = refused("export", "--prompt", sp.toString(), "--to", "peft", tmp.resolve("mlp-adapter").toString());
        assertTrue(e.contains("reparam_hidden is '5.5'"), e);
    }

    @Test
    void aPrefixAdapterWhoseRowOverflowsIsRefused() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("overflow-adapter"));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\":\"PREFIX_TUNING\",\"task_type\":\"CAUSAL_LM\","
                + "\"num_virtual_tokens\":2,\"token_dim\":2147483647,\"num_layers\":2147483647,\"num_attention_heads\":1}");
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put(PromptFile.TENSOR, SafetensorsWriter.Tensor.f32(new float[4], 2, 2));
        try (var out = Files.newOutputStream(dir.resolve("adapter_model.safetensors"))) {
            SafetensorsWriter.write(out, t, Map.of());
        }
        String e = refused("import", dir.toString(), "--model", gpt2, "-o", tmp.resolve("overflow.sp").toString());
        assertTrue(e.contains("beyond any model"), e);
    }

    @Test
    void dataLinesAreOneRecordOfBoundedLength() throws Exception {
        Path jsonl = Files.writeString(tmp.resolve("two.jsonl"),
                "{\"text\":\"good\",\"y\":\"pos\"} {\"text\":\"bad\",\"y\":\"neg\"}\n");
        String e = refused("eval", "--prompt", input.toString(), "--model", gpt2, "--data", jsonl.toString());
        assertTrue(e.endsWith("two.jsonl:1: more than one JSON value on the line (one record a line; anything after the first "
                + "would be lost)"), e);
        String huge = "a".repeat((1 << 20) + 1);
        Path tsv = Files.writeString(tmp.resolve("huge.tsv"), "text\ty\nfine\tpos\n" + huge + "\tpos\n");
        e = refused("eval", "--prompt", input.toString(), "--model", gpt2, "--data", tsv.toString());
        assertTrue(e.contains("huge.tsv:3: a line longer than 1048576 bytes"), e);
        Path csv = Files.writeString(tmp.resolve("huge.csv"), "text,y\n\"" + huge + "\nmore\",pos\n");
        e = refused("eval", "--prompt", input.toString(), "--model", gpt2, "--data", csv.toString());
        assertTrue(e.contains("huge.csv:2: a field longer than 1048576 characters"), e);
    }

    @Test
    void forceNeverReplacesAnAdapterPeftWrote() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("peft-wrote"));
        byte[] cfg = "{\"peft_type\":\"PROMPT_TUNING\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Files.write(dir.resolve("adapter_config.json"), cfg);
        Files.write(dir.resolve("adapter_model.safetensors"), new byte[] {1, 2, 3});
        String e = refused("export", "--prompt", input.toString(), "--to", "peft", dir.toString(), "--force");
        assertTrue(e.contains("which softprompt did not write"), e);
        assertArrayEquals(cfg, Files.readAllBytes(dir.resolve("adapter_config.json")));
        // what softprompt wrote is still replaced with --force
        Path ours = tmp.resolve("ours-adapter");
        assertEquals(0, Cli.run("export", "--prompt", input.toString(), "--to", "peft", ours.toString()).code());
        assertEquals(0, Cli.run("export", "--prompt", input.toString(), "--to", "peft", ours.toString(), "--force").code());
        Prompt back = PromptFile.read(input);
        assertEquals(back.tokens(), Json.MAPPER.readTree(ours.resolve("adapter_config.json").toFile()).get("num_virtual_tokens").asInt());
    }
}
