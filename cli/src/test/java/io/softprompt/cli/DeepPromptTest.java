package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * train --depth deep on the decoder fixtures: the deep prompt starts exactly where the input prompt of
 * the same init would (same initial dev accuracy), learns a two-sentence task, is written as a format
 * 1.1 .sp of PEFT's prefix layout, and eval and infer use it; what takes input prompts only refuses it
 * in one line.
 */
class DeepPromptTest {
    @TempDir
    static Path tmp;

    @TestFactory
    Stream<DynamicTest> deepPromptsTrainAndScoreOnDecoders() throws Exception {
        Path task = Fixtures.moodTask(tmp, 6);
        return Stream.of("gpt2", "llama").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            Path model = Fixtures.of(arch);
            // step 0: the deep prompt made from the init's input prompt scores as that input prompt
            double[] initial = new double[2];
            for (int k = 0; k < 2; k++) {
                Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3",
                        "--init", "vocab", "--steps", "0", "--depth", k == 0 ? "input" : "deep", "--json",
                        "-o", tmp.resolve(arch + "-start-" + k + ".sp").toString());
                assertEquals(0, r.code(), r.err());
                initial[k] = Json.MAPPER.readTree(r.out()).get("initial_dev_accuracy").asDouble();
            }
            assertEquals(initial[0], initial[1], 0.0, arch + ": a deep prompt starts where its input prompt would");

            Path sp = tmp.resolve(arch + "-deep.sp");
            Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3",
                    "--depth", "deep", "--init", "vocab", "--steps", "40", "--lr", "0.05", "--eval-every", "20", "--json",
                    "-o", sp.toString());
            assertEquals(0, t.code(), t.err());
            JsonNode j = Json.MAPPER.readTree(t.out());
            assertEquals(1.0, j.get("best_dev_accuracy").asDouble(), 0.0, arch + ": a deep prompt learns two sentences: " + t.err());

            Prompt p = PromptFile.read(sp);
            assertEquals(PromptSite.DEEP, p.site(), "written as a deep prompt");
            assertEquals("1.1", p.meta(PromptFile.FORMAT_VERSION));
            assertEquals(3, p.tokens());
            assertEquals(Integer.parseInt(p.meta(PromptFile.PREFIX_WIDTH)), p.hidden());
            assertTrue(p.hidden() > Integer.parseInt(p.meta(PromptFile.HIDDEN_SIZE)), "L·2·Hkv·K per position, wider than D");

            Cli.Run e = Cli.run("eval", "--prompt", sp.toString(), "--model", model.toString(), "--json");
            assertEquals(0, e.code(), e.err());
            assertEquals(1.0, Json.MAPPER.readTree(e.out()).get("accuracy").asDouble(), 0.0, "eval reproduces the best dev accuracy");
            Cli.Run i = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "a dull boring plot");
            assertEquals(0, i.code(), i.err());
            assertTrue(i.out().startsWith("neg (bad)"), i.out());

            Cli.Run g = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "--generate",
                    "--max-new-tokens", "4", "--json", "a dull boring plot");
            assertEquals(0, g.code(), g.err());
            assertTrue(Json.MAPPER.readTree(g.out()).get("tokens").asInt() <= 4, g.out());
            // transfer: a deep run from this deep prompt takes its table (step 0 scores as it does); a deep run from an
            // input prompt starts from the keys and values that prompt leaves
            Cli.Run fromDeep = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3",
                    "--init-from", sp.toString(), "--steps", "0", "--json", "-o", tmp.resolve(arch + "-from-deep.sp").toString());
            assertEquals(0, fromDeep.code(), fromDeep.err());
            assertEquals(PromptSite.DEEP, PromptFile.read(tmp.resolve(arch + "-from-deep.sp")).site(), "depth auto follows a deep source");
            assertArrayEquals(p.values(), PromptFile.read(tmp.resolve(arch + "-from-deep.sp")).values(), 0f);
            Cli.Run fromInput = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3",
                    "--init-from", tmp.resolve(arch + "-start-0.sp").toString(), "--depth", "deep", "--steps", "0", "--json",
                    "-o", tmp.resolve(arch + "-from-input.sp").toString());
            assertEquals(0, fromInput.code(), fromInput.err());
            assertEquals(initial[0], Json.MAPPER.readTree(fromInput.out()).get("initial_dev_accuracy").asDouble(), 0.0,
                    "a deep prompt from an input prompt starts where it is");
            Cli.Run intoInput = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3",
                    "--init-from", sp.toString(), "--depth", "input", "--steps", "0", "-o", tmp.resolve(arch + "-x.sp").toString());
            assertEquals(2, intoInput.code(), intoInput.err());
            assertTrue(intoInput.errLine().contains("a deep prompt (a key/value prefix in every layer)"), intoInput.err());

            Cli.Run npy = Cli.run("export", "--prompt", sp.toString(), "--to", "npy", tmp.resolve(arch + ".npy").toString());
            assertEquals(2, npy.code(), npy.err());
            assertTrue(npy.errLine().contains("a deep prompt (a key/value prefix in every layer)"), npy.err());

            // export: PEFT's PrefixTuningConfig as peft 0.17.1 wrote it for the golden (layers, heads, token_dim
            // Hkv·K), in inference mode, the table as prompt_embeddings [N, L·2·token_dim]; import gives it back
            Path adapter = tmp.resolve(arch + "-prefix");
            Cli.Run x = Cli.run("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString());
            assertEquals(0, x.code(), x.err());
            assertTrue(x.err().contains("peft PREFIX_TUNING"), x.err());
            JsonNode cfg = Json.MAPPER.readTree(adapter.resolve("adapter_config.json").toFile());
            JsonNode golden = Json.MAPPER.readTree(model.resolve("golden-prefix.json").toFile()).get("peft_config");
            for (String key : new String[] {"peft_type", "task_type", "token_dim", "num_transformer_submodules",
                "num_attention_heads", "num_layers", "encoder_hidden_size", "prefix_projection", "modules_to_save"}) {
                assertEquals(golden.get(key), cfg.get(key), arch + ": " + key + " as PEFT writes it");
            }
            assertEquals(3, cfg.get("num_virtual_tokens").asInt());
            assertTrue(cfg.get("inference_mode").asBoolean(), "folded: PEFT feeds prompt_embeddings as they are");
            io.softprompt.safetensors.SafetensorsFile w = io.softprompt.safetensors.SafetensorsFile.open(
                    adapter.resolve("adapter_model.safetensors"));
            assertArrayEquals(new long[] {3, (long) golden.get("num_layers").asInt() * 2 * golden.get("token_dim").asInt()},
                    w.info("prompt_embeddings").shape());
            assertArrayEquals(p.values(), w.readFloats("prompt_embeddings"), 0f);
            String card = java.nio.file.Files.readString(adapter.resolve("README.md"));
            assertTrue(card.contains("- prefix-tuning\n") && card.contains("(hidden size " + p.meta(PromptFile.HIDDEN_SIZE) + ")")
                    && card.contains("deep prompt"), card);
            Path back = tmp.resolve(arch + "-back.sp");
            Cli.Run im = Cli.run("import", adapter.toString(), "--model", model.toString(), "-o", back.toString());
            assertEquals(0, im.code(), im.err());
            Prompt b = PromptFile.read(back);
            assertEquals(PromptSite.DEEP, b.site(), "imported as a deep prompt");
            assertArrayEquals(p.values(), b.values(), 0f);
            Cli.Run eb = Cli.run("eval", "--prompt", back.toString(), "--model", model.toString(), "--json",
                    "--data", tmp.resolve("mood.tsv").toString()); // an adapter carries no local paths (issue 35)
            assertEquals(1.0, Json.MAPPER.readTree(eb.out()).get("accuracy").asDouble(), 0.0, eb.err());
            Cli.Run other = Cli.run("import", adapter.toString(), "--model", Fixtures.of(arch.equals("gpt2") ? "llama" : "gpt2")
                    .toString(), "-o", tmp.resolve(arch + "-other.sp").toString(), "--any-model");
            assertEquals(2, other.code(), other.err());
            assertTrue(other.errLine().contains("a prefix adapter of num_layers"), other.err());

            // inspect: per-layer key and value norms; no nearest tokens, no projection
            Cli.Run in = Cli.run("inspect", "--prompt", sp.toString(), "--model", model.toString(), "--json");
            assertEquals(0, in.code(), in.err());
            JsonNode ij = Json.MAPPER.readTree(in.out());
            assertEquals(golden.get("num_layers").asInt(), ij.get("per_layer").size());
            double k0 = 0;
            for (int c = 0; c < golden.get("token_dim").asInt(); c++) {
                k0 += (double) p.values()[c] * p.values()[c];
            }
            assertEquals(Math.sqrt(k0), ij.get("per_layer").get(0).get("key_norms").get(0).asDouble(), 1e-5,
                    "layer 0's first key row: the first token_dim numbers of row 0");
            Cli.Run proj = Cli.run("inspect", "--prompt", sp.toString(), "--model", model.toString(), "--project");
            assertEquals(2, proj.code(), proj.err());
            assertTrue(proj.errLine().contains("no vectors in the embedding space"), proj.err());
        }));
    }

    /**
     * A masked LM (as P-Tuning v2: a prefix in every layer, attended both ways) and T5 (the prefix in its
     * encoder) train a deep prompt from PEFT's N(0, 1) table; eval reproduces the dev accuracy, infer uses it;
     * bert's PEFT export says what peft 0.17.1 wrote for the bert golden, T5's is refused (PEFT would put the
     * prefix in the decoder too); with depth auto both train input prompts.
     */
    @TestFactory
    Stream<DynamicTest> maskedLmsAndT5TrainADeepPromptWhenAskedTo() throws Exception {
        Path task = Fixtures.moodTask(tmp, 6);
        return Stream.of("bert", "t5").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            Path model = Fixtures.of(arch);
            Path sp = tmp.resolve(arch + "-deep.sp");
            Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3", "--depth",
                    "deep", "--steps", "60", "--lr", "0.05", "--eval-every", "20", "--json", "-o", sp.toString());
            assertEquals(0, t.code(), t.err());
            JsonNode j = Json.MAPPER.readTree(t.out());
            assertEquals(PromptSite.DEEP, PromptFile.read(sp).site());
            if (arch.equals("bert")) {
                assertEquals(1.0, j.get("best_dev_accuracy").asDouble(), 0.0, "learns two sentences: " + t.err());
            } else {
                assertTrue(j.get("final_loss").asDouble() < 0.5, "the loss falls far below ln 2: " + t.out());
            }
            Cli.Run e = Cli.run("eval", "--prompt", sp.toString(), "--model", model.toString(), "--json");
            assertEquals(0, e.code(), e.err());
            assertEquals(j.get("best_dev_accuracy").asDouble(), Json.MAPPER.readTree(e.out()).get("accuracy").asDouble(), 0.0);
            Cli.Run i = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "a dull boring plot");
            assertEquals(0, i.code(), i.err());
            Path adapter = tmp.resolve(arch + "-deep-prefix");
            Cli.Run x = Cli.run("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString());
            if (arch.equals("bert")) {
                assertEquals(0, x.code(), x.err());
                JsonNode cfg = Json.MAPPER.readTree(adapter.resolve("adapter_config.json").toFile());
                JsonNode golden = Json.MAPPER.readTree(model.resolve("golden-prefix.json").toFile()).get("peft_config");
                for (String key : new String[] {"peft_type", "task_type", "token_dim", "num_attention_heads", "num_layers"}) {
                    assertEquals(golden.get(key), cfg.get(key), "bert: " + key);
                }
            } else {
                assertEquals(2, x.code(), x.err());
                assertTrue(x.errLine().contains("no PEFT adapter computes the same"), x.err());
            }
            Cli.Run auto = Cli.run("train", "--task", task.toString(), "--model", model.toString(), "--tokens", "3", "--steps",
                    "0", "-o", tmp.resolve(arch + "-auto.sp").toString());
            assertEquals(0, auto.code(), auto.err());
            assertEquals(PromptSite.INPUT, PromptFile.read(tmp.resolve(arch + "-auto.sp")).site(), "depth auto: an input prompt on " + arch);
        }));
    }

    @Test
    void whatDeepTrainingDoesNotCoverYetIsRefusedByName() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        Path echo = tmp.resolve("echo.json");
        java.nio.file.Files.writeString(echo, "{\"name\": \"echo\", \"type\": \"text-to-text\", \"template\": \"{input} it was\", "
                + "\"train\": \"echo.jsonl\", \"dev\": \"echo.jsonl\"}");
        java.nio.file.Files.writeString(tmp.resolve("echo.jsonl"), "{\"input\": \"a dull plot\", \"target\": \"bad\"}\n");
        Cli.Run t5 = Cli.run("train", "--task", echo.toString(), "--model", Fixtures.of("t5").toString(),
                "--depth", "deep", "--steps", "1", "-o", tmp.resolve("t5.sp").toString());
        assertEquals(2, t5.code());
        assertTrue(t5.errLine().endsWith("--depth deep trains text-to-text tasks on decoder LMs so far, not t5 (a T5 deep prompt "
                + "classifies)"), t5.err());
        Cli.Run t5top = Cli.run("train", "--task", echo.toString(), "--model", Fixtures.of("t5").toString(),
                "--depth", "deep", "--prompt-layers", "1", "--steps", "1", "-o", tmp.resolve("t5.sp").toString());
        assertEquals(2, t5top.code());
        assertTrue(t5top.errLine().contains("--depth deep --prompt-layers 1 trains text-to-text tasks on decoder LMs so far"),
                "the message names the flags given: " + t5top.err());
        Cli.Run odd = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--depth", "wide",
                "--steps", "1", "-o", tmp.resolve("w.sp").toString());
        assertEquals(2, odd.code());
        assertTrue(odd.errLine().endsWith("--depth must be auto, input, deep or late (got 'wide')"), odd.err());
        Cli.Run anchor = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--depth", "deep",
                "--anchor-text", "good", "--steps", "1", "-o", tmp.resolve("a.sp").toString());
        assertEquals(2, anchor.code());
        assertTrue(anchor.errLine().contains("--anchor-text keeps an input prompt near a text"), anchor.err());
    }
}
