package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.model.FixtureCopies;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of bad input gets one line naming the file, line or flag, exit code 2, no stack trace,
 * and no output file left behind.
 */
class BadInputTest {
    @TempDir
    Path tmp;
    Path out;
    Path gpt2;

    @BeforeEach
    void setUp() {
        out = tmp.resolve("result.sp");
        gpt2 = Fixtures.of("gpt2");
    }

    /** Runs train with a model and extra flags; asserts the contract; returns the error line. */
    String trainFails(Path model, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--steps", "2", "-o",
                out.toString(), "--models-dir", tmp.resolve("models").toString()));
        args.addAll(Arrays.asList(extra));
        return fails(args.toArray(String[]::new));
    }

    String fails(String... args) {
        Cli.Run r = Cli.run(args);
        assertEquals(2, r.code(), "exit code 2 for bad input; stderr: " + r.err());
        String[] lines = r.err().strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("softprompt: error: "), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
        assertFalse(r.err().contains("Exception"), "no exception names: " + r.err());
        assertFalse(Files.exists(out), "no output file after a failure");
        try (var s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temp file left");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return last;
    }

    @Test
    void devicesAndPrecisionsThisMachineCannotRun() {
        String gpu = trainFails(gpt2, "--device", "gpu");
        assertTrue(gpu.contains("--device gpu: PyTorch sees no GPU"), gpu);
        String bf = trainFails(gpt2, "--device", "cpu", "--dtype", "bfloat16");
        assertTrue(bf.contains("--dtype bfloat16: bfloat16 arrays abort"), bf);
        String odd = trainFails(gpt2, "--dtype", "int4");
        assertTrue(odd.contains("--dtype int4: expected auto, float32, float16 or bfloat16"), odd);
    }

    @Test
    void anUnknownDataFormatIsNamedAndAKnownOneReadsAnyName() throws Exception {
        String e = trainFails(gpt2, "--format", "xlsx");
        assertTrue(e.endsWith("--format must be auto, tsv, csv or jsonl (got 'xlsx')"), e);
        Path rows = tmp.resolve("rows.txt"); // CSV under a name that says nothing
        Files.writeString(rows, "sentence,label\n\"a fine, witty film\",1\n\"flat, dull\",0\n");
        Cli.Run ok = Cli.run("train", "--model", gpt2.toString(), "--steps", "1", "--tokens", "2", "--train", rows.toString(),
                "--dev", rows.toString(), "--format", "csv", "-o", out.toString());
        assertEquals(0, ok.code(), ok.err());
        Cli.Run eval = Cli.run("eval", "--prompt", out.toString(), "--model", gpt2.toString(), "--data", rows.toString(),
                "--format", "csv", "--json");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("\"examples\":2"), eval.out());
        Files.delete(out);
    }

    @Test
    void missingModelFolder() {
        Path missing = tmp.resolve("no-such-model");
        String e = trainFails(missing);
        assertTrue(e.contains(missing.toString()) && e.contains("not found"), e);
    }

    @Test
    void unsupportedModelTypeListsTheSupportedOnes() throws Exception {
        Path m = FixtureCopies.copy(gpt2, tmp.resolve("odd"), "F32", 1);
        Files.writeString(m.resolve("config.json"),
                Files.readString(m.resolve("config.json")).replace("\"model_type\": \"gpt2\"", "\"model_type\": \"mamba\""));
        String e = trainFails(m);
        assertTrue(e.contains("config.json") && e.contains("'mamba'") && e.contains("supported: gpt2"), e);
    }

    @Test
    void truncatedSafetensors() throws Exception {
        Path m = FixtureCopies.copy(gpt2, tmp.resolve("cut"), "F32", 1);
        Path w = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(w);
        Files.write(w, Arrays.copyOf(b, b.length / 2));
        String e = trainFails(m);
        assertTrue(e.contains(w.toString()) && e.contains("truncated"), e);
    }

    @Test
    void safetensorsHeaderThatLiesAboutOffsets() throws Exception {
        Path m = FixtureCopies.copy(gpt2, tmp.resolve("lie"), "F32", 1);
        Path w = m.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(w);
        String text = new String(b, StandardCharsets.ISO_8859_1);
        // shift one tensor's end offset by 4 bytes: the span no longer matches its shape
        var matcher = Pattern.compile("\"data_offsets\":\\[(\\d+),(\\d+)\\]").matcher(text);
        assertTrue(matcher.find());
        String orig = matcher.group();
        long end = Long.parseLong(matcher.group(2));
        String lie = "\"data_offsets\":[" + matcher.group(1) + "," + (end + 4) + "]";
        assertEquals(orig.length(), lie.length(), "same header length keeps the file layout");
        Files.write(w, text.replace(orig, lie).getBytes(StandardCharsets.ISO_8859_1));
        String e = trainFails(m);
        assertTrue(e.contains(w.toString()) && e.contains("lies about offsets"), e);
    }

    @Test
    void missingTensor() throws Exception {
        Path m = FixtureCopies.copy(gpt2, tmp.resolve("partial"), "F32", 1);
        SafetensorsFile f = SafetensorsFile.open(gpt2.resolve("model.safetensors"));
        Map<String, SafetensorsWriter.Tensor> kept = new LinkedHashMap<>();
        for (String n : f.names()) {
            if (!n.equals("transformer.ln_f.bias")) {
                kept.put(n, SafetensorsWriter.Tensor.f32(f.readFloats(n), f.info(n).shape()));
            }
        }
        SafetensorsWriter.write(m.resolve("model.safetensors"), kept, Map.of());
        String e = trainFails(m);
        assertTrue(e.contains("missing tensor 'transformer.ln_f.bias'"), e);
    }

    Path tsv(String name, String content) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    @Test
    void tsvWithAMissingColumn() throws Exception {
        Path p = tsv("nolabel.tsv", "sentence\tscore\na good film\t1\n");
        String e = trainFails(gpt2, "--train", p.toString());
        assertTrue(e.contains(p + ":1") && e.contains("no column 'label'"), e);
    }

    @Test
    void tsvWithALabelOutsideTheVerbalizer() throws Exception {
        Path p = tsv("badlabel.tsv", "sentence\tlabel\na good film\t1\nmeh\t7\n");
        String e = trainFails(gpt2, "--train", p.toString());
        assertTrue(e.contains(p + ":3") && e.contains("label '7'"), e);
    }

    @Test
    void tsvWithNoRows() throws Exception {
        Path p = tsv("empty.tsv", "sentence\tlabel\n");
        String e = trainFails(gpt2, "--train", p.toString());
        assertTrue(e.contains(p.toString()) && e.contains("no data rows"), e);
    }

    @Test
    void tsvWithARaggedLine() throws Exception {
        Path p = tsv("ragged.tsv", "sentence\tlabel\na good film\t1\nno tab here\n");
        String e = trainFails(gpt2, "--train", p.toString());
        assertTrue(e.contains(p + ":3") && e.contains("fields"), e);
    }

    @Test
    void zeroOrNegativeTokens() {
        assertTrue(trainFails(gpt2, "--tokens", "0").contains("--tokens"));
        assertTrue(trainFails(gpt2, "--tokens", "-3").contains("--tokens"));
    }

    @Test
    void otherBadFlags() {
        assertTrue(trainFails(gpt2, "--epochs", "1").contains("--steps and --epochs"));
        assertTrue(trainFails(gpt2, "--init", "magic").contains("--init"));
        assertTrue(trainFails(gpt2, "--objective", "mse").contains("--objective"));
        assertTrue(trainFails(gpt2, "--lr", "-1").contains("--lr"));
        assertTrue(trainFails(gpt2, "--tokens", "abc").contains("--tokens"));
        assertTrue(trainFails(gpt2, "--task", "nope").contains("--task"));
        assertTrue(trainFails(gpt2, "--init", "text").contains("--init-text"));
    }

    Prompt prompt(int n, int d) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(PromptFile.TASK, "sst2");
        meta.put(PromptFile.TEMPLATE, "{sentence} it was");
        meta.put(PromptFile.VERBALIZER, "{\"0\":\" bad\",\"1\":\" good\"}");
        return new Prompt(new float[n * d], n, d, meta);
    }

    @Test
    void promptWhoseHiddenSizeDoesNotMatchTheModel() throws Exception {
        Path sp = tmp.resolve("wide.sp");
        PromptFile.write(sp, prompt(3, 32));
        String e = fails("eval", "--prompt", sp.toString(), "--model", gpt2.toString());
        assertTrue(e.contains(sp.toString()) && e.contains("hidden size 32") && e.contains("64"), e);
        e = fails("infer", "--prompt", sp.toString(), "--model", gpt2.toString(), "some text");
        assertTrue(e.contains("hidden size 32"), e);
    }

    @Test
    void promptFromAnotherModelNeedsForce() throws Exception {
        Path sp = tmp.resolve("other.sp");
        PromptFile.write(sp, prompt(3, 64).withMetadata(Map.of(PromptFile.MODEL_FINGERPRINT, "sha256:0000000000000000")));
        String e = fails("infer", "--prompt", sp.toString(), "--model", gpt2.toString(), "good film");
        assertTrue(e.contains("fingerprint") && e.contains("--any-model"), e);
        Cli.Run forced = Cli.run("infer", "--prompt", sp.toString(), "--model", gpt2.toString(), "--any-model", "good film");
        assertEquals(0, forced.code(), forced.err());
        // issue 35: --force means "replace what softprompt wrote" everywhere; here it says which flag is meant
        String old = fails("infer", "--prompt", sp.toString(), "--model", gpt2.toString(), "--force", "good film");
        assertTrue(old.contains("pass --any-model"), old);
    }

    @Test
    void corruptedPrompt() throws Exception {
        Path sp = tmp.resolve("broken.sp");
        PromptFile.write(sp, prompt(3, 64));
        byte[] b = Files.readAllBytes(sp);
        Files.write(sp, Arrays.copyOf(b, b.length - 10));
        String e = fails("eval", "--prompt", sp.toString(), "--model", gpt2.toString());
        assertTrue(e.contains(sp.toString()) && e.contains("invalid safetensors"), e);
        Path missing = tmp.resolve("missing.sp");
        e = fails("infer", "--prompt", missing.toString(), "--model", gpt2.toString(), "x");
        assertTrue(e.contains(missing.toString()) && e.contains("not found"), e);
    }

    @Test
    void verboseAddsTheStackTrace() {
        Cli.Run r = Cli.run("train", "--model", tmp.resolve("nothing").toString(), "--verbose");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }
}
