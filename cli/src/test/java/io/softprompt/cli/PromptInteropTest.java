package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.TextTokenizer;
import io.softprompt.prompt.Npy;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.Json;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** export/import (PEFT, .npy), inspect and ensembles from the command line. */
class PromptInteropTest {
    @TempDir
    static Path tmp;
    static Path task;
    static Map<String, Path> trained = new LinkedHashMap<>();

    @BeforeAll
    static void train() throws Exception {
        task = Fixtures.moodTask(tmp, 4);
        for (String arch : List.of("gpt2", "t5", "bert")) {
            Path sp = tmp.resolve(arch + ".sp");
            Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of(arch).toString(), "--tokens", "3",
                    "--steps", "20", "--lr", "0.3", "--eval-every", "10", "--init", "labels", "--depth", "input", "-o", sp.toString());
            assertEquals(0, r.code(), r.err());
            trained.put(arch, sp);
        }
    }

    static byte[] tensorBytes(Path safetensors) {
        ByteBuffer b = SafetensorsFile.open(safetensors).rawBytes(PromptFile.TENSOR);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void anExportedAdapterCarriesAModelCardTheHubReads() throws Exception {
        Path dir = tmp.resolve("card-adapter");
        Cli.Run x = Cli.run("export", "--prompt", trained.get("gpt2").toString(), "--to", "peft", dir.toString());
        assertEquals(0, x.code(), x.err());
        String card = Files.readString(dir.resolve("README.md"));
        assertTrue(card.startsWith("---\n"), card);
        String front = card.substring(4, card.indexOf("\n---\n", 4));
        JsonNode y = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                .readTree(front);
        assertEquals(Fixtures.of("gpt2").getFileName().toString(), y.get("base_model").asText(), "a local model by its name");
        assertEquals("peft", y.get("library_name").asText());
        assertEquals("text-classification", y.get("pipeline_tag").asText(), "a classifying prompt (issue 35)");
        List<String> tags = new ArrayList<>();
        y.get("tags").forEach(t -> tags.add(t.asText()));
        assertTrue(tags.containsAll(List.of("peft", "prompt-tuning", "softprompt")), tags.toString());
        for (String part : List.of("## Task", "template: `", "verbalizer", "## Dev metrics", "## Training", "`tokens` | 3",
                "PeftModel.from_pretrained", "softprompt import")) {
            assertTrue(card.contains(part), part + " in\n" + card);
        }
        assertFalse(card.contains(tmp.toString()) || card.contains(Fixtures.of("gpt2").toString()),
                "nothing machine-local: no absolute path\n" + card);
    }

    @Test
    void peftRoundTripIsBitIdenticalAndFollowsPeftsLayout() throws Exception {
        Map<String, String> taskTypes = Map.of("gpt2", "CAUSAL_LM", "t5", "SEQ_2_SEQ_LM", "bert", "FEATURE_EXTRACTION");
        for (var e : trained.entrySet()) {
            Path dir = tmp.resolve(e.getKey() + "-adapter");
            Cli.Run x = Cli.run("export", "--prompt", e.getValue().toString(), "--to", "peft", dir.toString());
            assertEquals(0, x.code(), x.err());
            // PEFT's documented layout: adapter_config.json (PromptTuningConfig) + adapter_model.safetensors
            assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors", "softprompt.json", "README.md",
                    ".softprompt-files"),
                    new TreeSet<>(Arrays.asList(dir.toFile().list())));
            JsonNode cfg = Json.MAPPER.readTree(dir.resolve("adapter_config.json").toFile());
            assertEquals("PROMPT_TUNING", cfg.get("peft_type").asText());
            assertEquals(taskTypes.get(e.getKey()), cfg.get("task_type").asText());
            assertEquals(3, cfg.get("num_virtual_tokens").asInt());
            int d = PromptFile.read(e.getValue()).hidden();
            assertEquals(d, cfg.get("token_dim").asInt());
            assertEquals(1, cfg.get("num_transformer_submodules").asInt());
            assertTrue(cfg.get("inference_mode").asBoolean());
            assertEquals(Fixtures.of(e.getKey()).toString(), cfg.get("base_model_name_or_path").asText());
            assertEquals("RANDOM", cfg.get("prompt_tuning_init").asText(), "a value PEFT 0.17.1 loads, whatever the init");
            // the safetensors header, read by hand: one F32 tensor [N·S, D] and metadata {"format": "pt"}
            byte[] all = Files.readAllBytes(dir.resolve("adapter_model.safetensors"));
            long len = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            JsonNode header = Json.MAPPER.readTree(new String(all, 8, (int) len, StandardCharsets.UTF_8));
            assertEquals(Json.MAPPER.readTree("{\"format\":\"pt\"}"), header.get("__metadata__"));
            assertEquals("F32", header.get("prompt_embeddings").get("dtype").asText());
            assertEquals("[3," + d + "]", header.get("prompt_embeddings").get("shape").toString());
            assertEquals(2, header.size(), "only the tensor and the metadata");

            Path back = tmp.resolve(e.getKey() + "-back.sp");
            Cli.Run i = Cli.run("import", dir.toString(), "--model", Fixtures.of(e.getKey()).toString(), "-o", back.toString());
            assertEquals(0, i.code(), i.err());
            assertArrayEquals(tensorBytes(e.getValue()), tensorBytes(back), e.getKey() + ": .sp -> PEFT -> .sp");
            assertEquals("mood", PromptFile.read(back).meta(PromptFile.TASK), "the task travels in softprompt.json");
            // the adapter carries no local paths (issue 35), so the imported prompt is given its data
            String data = tmp.resolve("mood.tsv").toString();
            Cli.Run ev = Cli.run("eval", "--prompt", back.toString(), "--model", Fixtures.of(e.getKey()).toString(), "--json",
                    "--data", data);
            Cli.Run ev0 = Cli.run("eval", "--prompt", e.getValue().toString(), "--model", Fixtures.of(e.getKey()).toString(), "--json",
                    "--data", data);
            assertEquals(Json.MAPPER.readTree(ev0.out()).get("accuracy"), Json.MAPPER.readTree(ev.out()).get("accuracy"));
        }
    }

    @Test
    void anInitTextExportIsExactlyWhatPeftLoads() throws Exception {
        Path sp = tmp.resolve("text-init.sp");
        Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--tokens", "3",
                "--steps", "0", "--init", "text", "--init-text", "it was good", "--depth", "input", "-o", sp.toString());
        assertEquals(0, t.code(), t.err());
        Path dir = tmp.resolve("text-adapter");
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "peft", dir.toString()).code());
        JsonNode expected = Json.MAPPER.readTree("{\"peft_type\": \"PROMPT_TUNING\", \"task_type\": \"CAUSAL_LM\", "
                + "\"auto_mapping\": null, \"base_model_name_or_path\": " + Json.write(Fixtures.of("gpt2").toString()) + ", "
                + "\"revision\": null, \"inference_mode\": true, \"num_virtual_tokens\": 3, \"token_dim\": 64, "
                + "\"num_transformer_submodules\": 1, \"num_attention_heads\": null, \"num_layers\": null, "
                + "\"prompt_tuning_init\": \"RANDOM\", \"prompt_tuning_init_text\": null, \"tokenizer_name_or_path\": null, "
                + "\"tokenizer_kwargs\": null}");
        assertEquals(expected, Json.MAPPER.readTree(dir.resolve("adapter_config.json").toFile()),
                "TEXT would need tokenizer_name_or_path and re-embed the text at load; RANDOM loads and the weights win");
        JsonNode ours = Json.MAPPER.readTree(dir.resolve("softprompt.json").toFile());
        assertEquals("text", ours.get("init").asText(), "the real init stays in softprompt.json");
        assertArrayEquals(tensorBytes(sp), tensorBytes(dir.resolve("adapter_model.safetensors")));
        Path back = tmp.resolve("text-back.sp");
        Cli.Run i = Cli.run("import", dir.toString(), "--model", Fixtures.of("gpt2").toString(), "-o", back.toString());
        assertEquals(0, i.code(), i.err());
        Prompt imported = PromptFile.read(back);
        assertEquals("peft:RANDOM", imported.meta(PromptFile.INIT), "an import records peft:<INIT> (docs/FORMAT.md)");
        assertTrue(imported.meta(PromptFile.CREATED).compareTo(PromptFile.read(sp).meta(PromptFile.CREATED)) > 0,
                "a fresh 'created'");
        assertEquals(dir.toAbsolutePath().normalize().toString(), imported.meta(PromptFile.IMPORTED_FROM));
    }

    @Test
    void peftsDefaultSeq2SeqAdapterIsImportedFromItsFirstNRows() throws Exception {
        // PEFT's default for SEQ_2_SEQ_LM: num_transformer_submodules 2, a [2N, D] tensor of which prompt tuning feeds
        // only the first N rows to the model
        int n = 3;
        int d = PromptFile.read(trained.get("t5")).hidden();
        float[] rows = new float[2 * n * d];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i < n * d ? (float) Math.sin(i) * 0.2f : 99f;
        }
        Path dir = Files.createDirectories(tmp.resolve("peft-t5"));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"PROMPT_TUNING\", \"task_type\": "
                + "\"SEQ_2_SEQ_LM\", \"num_virtual_tokens\": " + n + ", \"token_dim\": " + d + ", "
                + "\"num_transformer_submodules\": 2, \"prompt_tuning_init\": \"TEXT\", \"inference_mode\": true}");
        SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"),
                Map.of(PromptFile.TENSOR, SafetensorsWriter.Tensor.f32(rows, 2 * n, d)),
                Map.of("format", "pt"));
        Path out = tmp.resolve("t5-from-peft.sp");
        Cli.Run r = Cli.run("import", dir.toString(), "--model", Fixtures.of("t5").toString(), "--task", task.toString(), "-o",
                out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("feeds only its first 3 rows"), "says so in one line: " + r.err());
        Prompt p = PromptFile.read(out);
        assertEquals(n, p.tokens());
        assertArrayEquals(Arrays.copyOf(rows, n * d), p.values(), "exactly the first N rows");
        assertEquals("peft:TEXT", p.meta(PromptFile.INIT));
    }

    @Test
    void importGuardsItsOutputAndTheTasksLabelWords() throws Exception {
        Path npy = tmp.resolve("guard.npy");
        assertEquals(0, Cli.run("export", "--prompt", trained.get("gpt2").toString(), "--to", "npy", npy.toString()).code());
        Path out = tmp.resolve("guard.sp");
        String model = Fixtures.of("gpt2").toString();
        assertEquals(0, Cli.run("import", npy.toString(), "--model", model, "--task", task.toString(), "-o", out.toString()).code());
        byte[] before = Files.readAllBytes(out);
        Cli.Run again = Cli.run("import", npy.toString(), "--model", model, "--task", task.toString(), "-o", out.toString());
        assertEquals(2, again.code());
        assertTrue(again.errLine().contains("exists; pass --force"), again.err());
        assertArrayEquals(before, Files.readAllBytes(out));
        assertEquals(0, Cli.run("import", npy.toString(), "--model", model, "--task", task.toString(), "-o", out.toString(),
                "--force").code());
        Path clash = tmp.resolve("clash.json");
        Files.writeString(clash, "{\"name\": \"clash\", \"template\": \"{text} it was\", \"text_column\": \"text\","
                + " \"verbalizer\": {\"a\": \" good\", \"b\": \" good film\"}}");
        Cli.Run c = Cli.run("import", npy.toString(), "--model", model, "--task", clash.toString(), "-o",
                tmp.resolve("clash.sp").toString());
        assertEquals(2, c.code(), c.err());
        assertTrue(c.errLine().contains("start with the same token"), c.err());
        assertFalse(Files.exists(tmp.resolve("clash.sp")));
    }

    @Test
    void aPromptWithoutAModelNameNeverConjuresTheDemoModel() throws Exception {
        Prompt p = PromptFile.read(trained.get("gpt2"));
        Map<String, String> meta = new LinkedHashMap<>(p.metadata());
        meta.remove(PromptFile.MODEL_NAME);
        Path bare = tmp.resolve("bare.sp");
        PromptFile.write(bare, new Prompt(p.values(), p.tokens(), p.hidden(), meta));
        Path models = tmp.resolve("bare-models");
        Cli.Run r = Cli.run("eval", "--prompt", bare.toString(), "--models-dir", models.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.errLine().contains("names no base model (model_name); pass --model"), r.err());
        assertFalse(Files.exists(models), "no demo model was written");
        Cli.Run ok = Cli.run("eval", "--prompt", bare.toString(), "--model", Fixtures.of("gpt2").toString(), "--data",
                tmp.resolve("mood.tsv").toString());
        assertEquals(0, ok.code(), ok.err());
    }

    @Test
    void inspectProjectEvaluatesTheNearestTokensBesideThePrompt() throws Exception {
        Path sp = trained.get("gpt2");
        String model = Fixtures.of("gpt2").toString();
        Cli.Run r = Cli.run("inspect", "--prompt", sp.toString(), "--model", model, "--project", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode p = Json.MAPPER.readTree(r.out()).get("projection");
        assertTrue(p.get("caution").asText().contains("Khashabi"), p.toString());
        // the projected prompt, built independently: the embedding rows of the nearest tokens, evaluated by eval
        Prompt prompt = PromptFile.read(sp);
        float[] projected;
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), model)) {
            float[] e = m.lm().embeddings().toFloatArray();
            int d = prompt.hidden();
            projected = new float[prompt.tokens() * d];
            for (int i = 0; i < prompt.tokens(); i++) {
                int id = p.get("projected_ids").get(i).asInt();
                System.arraycopy(e, id * d, projected, i * d, d);
            }
        }
        Path proj = tmp.resolve("projected.sp");
        PromptFile.write(proj, new Prompt(projected, prompt.tokens(), prompt.hidden(), prompt.metadata()));
        double evalProjected = Json.MAPPER.readTree(Cli.run("eval", "--prompt", proj.toString(), "--model", model, "--json")
                .out()).get("accuracy").asDouble();
        double evalPrompt = Json.MAPPER.readTree(Cli.run("eval", "--prompt", sp.toString(), "--model", model, "--json")
                .out()).get("accuracy").asDouble();
        assertEquals(evalPrompt, p.get("prompt_accuracy").asDouble(), 1e-9);
        assertEquals(evalProjected, p.get("projected_accuracy").asDouble(), 1e-9);
        Cli.Run text = Cli.run("inspect", "--prompt", sp.toString(), "--model", model, "--project");
        assertTrue(text.out().contains("projected   accuracy") && text.out().contains("caution:"), text.out());
        Cli.Run bad = Cli.run("inspect", "--prompt", sp.toString(), "--model", model, "--data", "x.tsv");
        assertEquals(2, bad.code());
        assertTrue(bad.errLine().contains("used with --project"), bad.err());
    }

    @Test
    void npyRoundTripIsBitIdentical() throws Exception {
        Path sp = trained.get("gpt2");
        Path npy = tmp.resolve("p.npy");
        Cli.Run x = Cli.run("export", "--prompt", sp.toString(), "--to", "npy", npy.toString());
        assertEquals(0, x.code(), x.err());
        byte[] all = Files.readAllBytes(npy);
        assertEquals(0x93, all[0] & 0xff);
        assertEquals("NUMPY", new String(all, 1, 5, StandardCharsets.US_ASCII));
        int hl = ByteBuffer.wrap(all, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort();
        assertEquals(0, (10 + hl) % 64, "header padded to 64 bytes as numpy writes it");
        String header = new String(all, 10, hl, StandardCharsets.US_ASCII);
        assertTrue(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False") && header.contains("(3, 64)"), header);
        Path back = tmp.resolve("npy-back.sp");
        Cli.Run i = Cli.run("import", npy.toString(), "--model", Fixtures.of("gpt2").toString(), "--task", task.toString(),
                "-o", back.toString());
        assertEquals(0, i.code(), i.err());
        assertArrayEquals(tensorBytes(sp), tensorBytes(back));
        // without --task a .npy has no template or verbalizer
        Cli.Run noTask = Cli.run("import", npy.toString(), "--model", Fixtures.of("gpt2").toString(), "-o",
                tmp.resolve("no-task.sp").toString());
        assertEquals(2, noTask.code());
        assertTrue(noTask.errLine().contains("pass --task"), noTask.err());
        assertFalse(Files.exists(tmp.resolve("no-task.sp")));
    }

    @Test
    void inspectFindsTheInitTextsTokensBeforeTraining() throws Exception {
        Path sp = tmp.resolve("init-text.sp");
        String text = "great movie plot";
        Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--tokens", "3",
                "--init", "text", "--init-text", text, "--steps", "0", "--depth", "input", "-o", sp.toString());
        assertEquals(0, t.code(), t.err());
        Cli.Run r = Cli.run("inspect", "--prompt", sp.toString(), "--model", Fixtures.of("gpt2").toString(), "--top", "4", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        TextTokenizer tok = TextTokenizer.open(Fixtures.of("gpt2").resolve("tokenizer.json"));
        long[] ids = tok.encode(text);
        assertEquals(3, ids.length, "one token per word in the fixture's vocabulary");
        for (int i = 0; i < 3; i++) {
            JsonNode first = j.get("positions").get(i).get("nearest").get(0);
            assertEquals(ids[i], first.get("id").asLong(), "position " + i);
            assertEquals(1.0, first.get("similarity").asDouble(), 1e-5);
            assertEquals(4, j.get("positions").get(i).get("nearest").size());
            assertTrue(j.get("positions").get(i).get("nearest").get(1).get("similarity").asDouble() < 0.999);
        }
        assertTrue(j.get("mean_vocab_norm").asDouble() > 0);
        assertTrue(j.get("caution").asText().contains("Khashabi"));
        Cli.Run plain = Cli.run("inspect", "--prompt", sp.toString(), "--model", Fixtures.of("gpt2").toString());
        assertTrue(plain.out().contains("mean prompt norm"), plain.out());
        assertTrue(plain.out().contains("positions nearest to a verbalizer word"), plain.out());
        assertTrue(plain.out().contains("not an explanation"), plain.out());
    }

    @Test
    void ensemblesFromTheCommandLine() throws Exception {
        Path sp = trained.get("gpt2");
        String model = Fixtures.of("gpt2").toString();
        Cli.Run one = Cli.run("eval", "--prompt", sp.toString(), "--model", model, "--json");
        for (String how : List.of("vote", "mean")) {
            Cli.Run three = Cli.run("eval", "--prompt", sp.toString(), "--prompt", sp.toString(), "--prompt", sp.toString(),
                    "--ensemble", how, "--model", model, "--json");
            assertEquals(0, three.code(), three.err());
            JsonNode j = Json.MAPPER.readTree(three.out());
            assertEquals(Json.MAPPER.readTree(one.out()).get("accuracy"), j.get("accuracy"), how);
            assertEquals(3, j.get("members").size());
        }
        Cli.Run inf = Cli.run("infer", "--prompt", sp.toString(), "--prompt", sp.toString(), "--ensemble", "vote",
                "--model", model, "--json", "a dull boring plot");
        assertEquals(0, inf.code(), inf.err());
        assertEquals(1.0, Json.MAPPER.readTree(inf.out()).get("votes").get(Json.MAPPER.readTree(inf.out()).get("label").asText())
                .asDouble(), 1e-6);
        Cli.Run votesText = Cli.run("infer", "--prompt", sp.toString(), "--prompt", sp.toString(), "--ensemble", "vote",
                "--model", model, "a dull boring plot");
        assertTrue(votesText.out().matches("(?s)\\S+ \\(\\S+\\)\tvotes (\\S+=[0-2]/2 )+\ta dull boring plot\\s*"),
                "votes shown as votes: " + votesText.out());
        Cli.Run noHow = Cli.run("eval", "--prompt", sp.toString(), "--prompt", sp.toString(), "--model", model);
        assertEquals(2, noHow.code());
        assertTrue(noHow.errLine().contains("--ensemble"), noHow.err());
        Path otherTaskFile = tmp.resolve("mood2.json");
        Files.writeString(otherTaskFile, Files.readString(task).replace("\"mood\"", "\"mood2\""));
        Path other = tmp.resolve("mood2.sp");
        assertEquals(0, Cli.run("train", "--task", otherTaskFile.toString(), "--model", model, "--tokens", "3", "--steps", "0",
                "--depth", "input", "-o", other.toString()).code());
        Cli.Run otherTask = Cli.run("eval", "--prompt", sp.toString(), "--prompt", other.toString(),
                "--ensemble", "mean", "--model", model);
        assertEquals(2, otherTask.code());
        assertTrue(otherTask.errLine().contains("is task mood2"), otherTask.err());
    }

    @Test
    void badSourcesAreOneLineErrorsAndWriteNothing() throws Exception {
        Path sp = trained.get("gpt2");
        Path lora = Files.createDirectories(tmp.resolve("lora"));
        Files.writeString(lora.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 8}");
        Path wrongDim = tmp.resolve("wrong-dim");
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "peft", wrongDim.toString()).code());
        JsonNode c = Json.MAPPER.readTree(wrongDim.resolve("adapter_config.json").toFile());
        ((ObjectNode) c).put("token_dim", 32);
        Files.writeString(wrongDim.resolve("adapter_config.json"), c.toString());
        Path twoSub = tmp.resolve("two-sub");
        assertEquals(0, Cli.run("export", "--prompt", trained.get("t5").toString(), "--to", "peft", twoSub.toString()).code());
        JsonNode c2 = Json.MAPPER.readTree(twoSub.resolve("adapter_config.json").toFile());
        ((ObjectNode) c2).put("num_transformer_submodules", 2);
        Files.writeString(twoSub.resolve("adapter_config.json"), c2.toString());

        Path good = tmp.resolve("good.npy");
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "npy", good.toString()).code());
        byte[] g = Files.readAllBytes(good);
        Path f8 = tmp.resolve("f8.npy");
        Files.write(f8, new String(g, StandardCharsets.ISO_8859_1).replace("'<f4'", "'<f8'").getBytes(StandardCharsets.ISO_8859_1));
        Path fortran = tmp.resolve("fortran.npy");
        Files.write(fortran, new String(g, StandardCharsets.ISO_8859_1).replace("False", "True ").getBytes(StandardCharsets.ISO_8859_1));
        Path threeD = tmp.resolve("3d.npy");
        Files.write(threeD, new String(g, StandardCharsets.ISO_8859_1).replace("(3, 64)", "(3,64,1)").getBytes(StandardCharsets.ISO_8859_1));
        Path truncated = tmp.resolve("truncated.npy");
        Files.write(truncated, Arrays.copyOf(g, g.length - 10));
        Path bigD = tmp.resolve("bigd.npy");
        Npy.write(bigD, new float[3 * 32], 3, 32);
        Path notNpy = tmp.resolve("text.npy");
        Files.writeString(notNpy, "hello");

        String model = Fixtures.of("gpt2").toString();
        String[][] cases = {
            {"peft_type is LORA, not PROMPT_TUNING", lora.toString()},
            {"has shape [3, 64] but adapter_config.json says [3, 32]", wrongDim.toString()},
            {"has shape [3, 64] but adapter_config.json says [6, 64]", twoSub.toString()},
            {"dtype <f8 is not float32", f8.toString()},
            {"Fortran-order", fortran.toString()},
            {"is not a 2-D prompt", threeD.toString()},
            {"truncated file", truncated.toString()},
            {"prompt is [3, 32] but model", bigD.toString()},
            {"not a .npy file", notNpy.toString()},
            {"not found", tmp.resolve("nowhere.npy").toString()},
        };
        for (String[] k : cases) {
            Path out = tmp.resolve("bad-" + Math.abs(k[1].hashCode()) + ".sp");
            Cli.Run r = Cli.run("import", k[1], "--model", model, "--task", task.toString(), "-o", out.toString());
            assertEquals(2, r.code(), k[1] + ": " + r.err());
            assertEquals(1, r.errLine().lines().count(), r.err());
            assertTrue(r.errLine().contains(k[0]), "expected '" + k[0] + "' in " + r.err());
            assertFalse(Files.exists(out), "nothing written for " + k[1]);
        }
        Cli.Run exists = Cli.run("export", "--prompt", sp.toString(), "--to", "npy", good.toString());
        assertEquals(2, exists.code());
        assertTrue(exists.errLine().contains("--force"), exists.err());
        Cli.Run fmt = Cli.run("export", "--prompt", sp.toString(), "--to", "onnx", tmp.resolve("x").toString());
        assertEquals(2, fmt.code());
        assertTrue(fmt.errLine().contains("unknown format 'onnx'"), fmt.err());
    }

    @Test
    void mixedTaskInputAnswersInOrderAndNamesBadLines() throws Exception {
        Path sp = trained.get("gpt2");
        String model = Fixtures.of("gpt2").toString();
        Path rows = tmp.resolve("rows.jsonl");
        Files.writeString(rows, "{\"task\": \"a\", \"text\": \"a dull boring plot\", \"id\": \"x\"}\n\n"
                + "{\"task\": \"b\", \"text\": \"the movie was great and fine\"}\n");
        Cli.Run ok = Cli.run("infer", "--model", model, "--prompt", "a=" + sp, "--prompt", "b=" + sp, "--input", rows.toString());
        assertEquals(0, ok.code(), ok.err());
        String[] lines = ok.out().strip().split("\n");
        assertEquals(2, lines.length);
        assertEquals("x", Json.MAPPER.readTree(lines[0]).get("id").asText());
        assertEquals("a", Json.MAPPER.readTree(lines[0]).get("task").asText());
        assertEquals(3, Json.MAPPER.readTree(lines[1]).get("id").asInt(), "no id: the line number");
        assertEquals("b", Json.MAPPER.readTree(lines[1]).get("task").asText());
        // a row of a task no prompt was given for fails alone (as in serve and Spark): its line says why, the
        // other rows are answered, and the exit code says some rows failed
        Files.writeString(rows, "{\"task\": \"c\", \"text\": \"x\"}\n{\"task\": \"a\", \"text\": \"a fine film\"}\n");
        Cli.Run mixed = Cli.run("infer", "--model", model, "--prompt", "a=" + sp, "--input", rows.toString());
        assertEquals(4, mixed.code(), mixed.err());
        String[] answered = mixed.out().strip().split("\n");
        assertEquals(2, answered.length, mixed.out());
        JsonNode failedRow = Json.MAPPER.readTree(answered[0]);
        assertEquals(1, failedRow.get("id").asInt());
        assertEquals("c", failedRow.get("task").asText());
        assertTrue(failedRow.get("error").asText().contains("unknown task 'c'"), answered[0]);
        assertTrue(Json.MAPPER.readTree(answered[1]).has("label"), answered[1]);
        assertTrue(Json.MAPPER.readTree(answered[1]).get("word").isTextual(), "one answer schema, the word too: " + answered[1]);
        assertTrue(mixed.err().contains("1 of 2 rows"), mixed.err());
        // issue 35: an empty text aborted the whole file; it fails alone, as an unknown task does
        Files.writeString(rows, "{\"task\": \"a\", \"text\": \"\"}\n{\"task\": \"a\", \"text\": \"a fine film\"}\n");
        Cli.Run empty = Cli.run("infer", "--model", model, "--prompt", "a=" + sp, "--input", rows.toString());
        assertEquals(4, empty.code(), empty.err());
        String[] emptyLines = empty.out().strip().split("\n");
        assertTrue(emptyLines.length == 2 && emptyLines[0].contains("missing or empty \\\"text\\\"") && emptyLines[1].contains("\"label\""),
                empty.out());
        String[][] bad = {
            {"{\"task\": \"a\", \"text\": \"ok\"}\n{\"task\": \"a\"", "line 2: not valid JSON"},
            {"{\"text\": \"hi\"}", "line 1: missing \"task\""},
        };
        for (String[] b : bad) {
            Files.writeString(rows, b[0] + "\n");
            Cli.Run r = Cli.run("infer", "--model", model, "--prompt", "a=" + sp, "--input", rows.toString());
            assertEquals(2, r.code(), r.err());
            assertTrue(r.errLine().contains(b[1]), "expected '" + b[1] + "' in " + r.err());
        }
        Cli.Run noInput = Cli.run("infer", "--model", model, "--prompt", "a=" + sp, "hello");
        assertEquals(2, noInput.code());
        assertTrue(noInput.errLine().contains("--input"), noInput.err());
    }
}
