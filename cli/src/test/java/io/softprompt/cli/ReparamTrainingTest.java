package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.Checkpoint;
import io.softprompt.train.RunDir;
import io.softprompt.util.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * train --reparam mlp|residual and --prefix-projection: the run learns, its checkpoint keeps θ beside the
 * folded prompt, the .sp holds the folded prompt only (a plain input or deep prompt every reader takes),
 * and a run stopped mid-way then resumed ends with the uninterrupted run's bytes; what cannot be combined
 * is refused in one line naming the flag.
 */
class ReparamTrainingTest {
    @TempDir
    static Path tmp;

    static String[] train(Path task, String out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(),
                "--tokens", "4", "--steps", "30", "--batch-size", "4", "--lr", "0.01", "--eval-every", "10",
                "--checkpoint-every", "5", "--reparam-hidden", "16", "--seed", "3", "-o", tmp.resolve(out).toString(), "--json"));
        a.addAll(Arrays.asList(extra));
        return a.toArray(String[]::new);
    }

    @TestFactory
    Stream<DynamicTest> reparameterisedRunsLearnFoldAndResumeBitIdentically() throws Exception {
        Path task = Fixtures.moodTask(tmp, 6);
        return Stream.of(new String[] {"--reparam", "mlp"}, new String[] {"--reparam", "residual"},
                new String[] {"--prefix-projection"}).map(flags -> DynamicTest.dynamicTest(String.join(" ", flags), () -> {
                    String name = flags[flags.length - 1].replace("--", "");
                    Cli.Run whole = Cli.run(train(task, name + "-whole.sp", flags));
                    assertEquals(0, whole.code(), whole.err());
                    JsonNode j = Json.MAPPER.readTree(whole.out());
                    assertEquals(1.0, j.get("best_dev_accuracy").asDouble(), 0.0, name + " learns two sentences: " + whole.err());

                    Prompt p = PromptFile.read(tmp.resolve(name + "-whole.sp"));
                    boolean deep = name.equals("prefix-projection");
                    assertEquals(deep ? PromptSite.DEEP : PromptSite.INPUT, p.site(), "the folded prompt is " + (deep ? "a deep" : "an input") + " prompt");
                    assertEquals(4, p.tokens());
                    Checkpoint c = Checkpoint.read(tmp.resolve(name + "-whole.run").resolve(RunDir.CHECKPOINT));
                    assertNotNull(c.reparam(), "the checkpoint keeps θ");
                    assertEquals(4L * p.hidden(), c.prompt().length, "and the folded prompt beside it");
                    assertTrue(c.reparam().length > c.prompt().length, "θ holds the function's weights too");

                    // stopped by a non-finite loss at step 23 (checkpoint at 20 kept), then resumed
                    Cli.Run stopped = Cli.run(train(task, name + "-cut.sp", append(flags, "--debug-nan-at", "23")));
                    assertEquals(3, stopped.code(), stopped.err());
                    assertFalse(tmp.resolve(name + "-cut.sp").toFile().exists());
                    Cli.Run resumed = Cli.run("train", "--resume", tmp.resolve(name + "-cut.run").toString());
                    assertEquals(0, resumed.code(), resumed.err());
                    assertTrue(resumed.err().contains("at step 20"), resumed.err());
                    assertArrayEquals(TrainingRunTest.promptBytes(tmp.resolve(name + "-whole.sp")),
                            TrainingRunTest.promptBytes(tmp.resolve(name + "-cut.sp")), name + ": resumed = uninterrupted, bit for bit");

                    // export: P_TUNING (PromptEncoderConfig, MLP) for mlp, PREFIX_TUNING for the projection, PROMPT_TUNING
                    // for residual; in inference mode PEFT feeds the folded prompt_embeddings as they are
                    Path adapter = tmp.resolve(name + "-adapter");
                    Cli.Run x = Cli.run("export", "--prompt", tmp.resolve(name + "-whole.sp").toString(), "--to", "peft",
                            adapter.toString());
                    assertEquals(0, x.code(), x.err());
                    JsonNode cfg = Json.MAPPER.readTree(adapter.resolve("adapter_config.json").toFile());
                    assertEquals(name.equals("mlp") ? "P_TUNING" : deep ? "PREFIX_TUNING" : "PROMPT_TUNING", cfg.get("peft_type").asText());
                    assertTrue(cfg.get("inference_mode").asBoolean());
                    if (name.equals("mlp")) {
                        assertEquals("MLP", cfg.get("encoder_reparameterization_type").asText());
                        assertEquals(16, cfg.get("encoder_hidden_size").asInt());
                        assertEquals(p.hidden(), cfg.get("token_dim").asInt());
                    }
                    assertArrayEquals(p.values(), io.softprompt.safetensors.SafetensorsFile.open(
                            adapter.resolve("adapter_model.safetensors")).readFloats("prompt_embeddings"), 0f);
                    Path back = tmp.resolve(name + "-back.sp");
                    Cli.Run im = Cli.run("import", adapter.toString(), "--model", Fixtures.of("gpt2").toString(), "-o", back.toString());
                    assertEquals(0, im.code(), im.err());
                    assertArrayEquals(p.values(), PromptFile.read(back).values(), 0f, "import gives the folded prompt back");

                    Cli.Run e = Cli.run("eval", "--prompt", tmp.resolve(name + "-whole.sp").toString(), "--model",
                            Fixtures.of("gpt2").toString(), "--json");
                    assertEquals(0, e.code(), e.err());
                    assertEquals(1.0, Json.MAPPER.readTree(e.out()).get("accuracy").asDouble(), 0.0, "eval takes the folded prompt");
                }));
    }

    private static String[] append(String[] a, String... more) {
        String[] out = Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }

    /**
     * --reparam-lr is the network's own rate: at the prompt's rate it trains as without it (up to the
     * rounding of the scaled update); at a negligible rate the network holds still while E moves.
     */
    @Test
    void theNetworksOwnRateMovesTheNetworkAlone() throws Exception {
        Path task = Fixtures.moodTask(tmp, 4);
        Cli.Run plain = Cli.run(train(task, "rate-plain.sp", "--reparam", "residual"));
        Cli.Run same = Cli.run(train(task, "rate-same.sp", "--reparam", "residual", "--reparam-lr", "0.01"));
        assertEquals(0, plain.code(), plain.err());
        assertEquals(0, same.code(), same.err());
        float[] a = PromptFile.read(tmp.resolve("rate-plain.sp")).values();
        float[] b = PromptFile.read(tmp.resolve("rate-same.sp")).values();
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
        }
        assertTrue(diff / scale < 1e-5, "--reparam-lr at --lr trains as without it: " + diff / scale);

        float[][] network = new float[2][];
        float[][] prompt = new float[2][];
        int k = 0;
        for (String steps : List.of("1", "30")) {
            String name = "rate-still-" + steps;
            String[] args = train(task, name + ".sp", "--reparam", "residual", "--reparam-lr", "1e-12");
            args[Arrays.asList(args).indexOf("--steps") + 1] = steps;
            Cli.Run r = Cli.run(args);
            assertEquals(0, r.code(), r.err());
            float[] theta = Checkpoint.read(tmp.resolve(name + ".run").resolve(RunDir.CHECKPOINT)).reparam();
            int e = 4 * PromptFile.read(tmp.resolve(name + ".sp")).hidden();
            prompt[k] = Arrays.copyOfRange(theta, 0, e);
            network[k++] = Arrays.copyOfRange(theta, e, theta.length);
        }
        assertArrayEquals(network[0], network[1], 1e-6f, "the network holds still at a negligible rate");
        assertFalse(Arrays.equals(prompt[0], prompt[1]), "while E moves");
    }

    /** Above 0.01, residual's network trains at 0.01 unless --reparam-lr says otherwise (docs/lr-range.md). */
    @Test
    void residualsNetworkRateIsCappedAtTheMeasuredDefault() throws Exception {
        Path task = Fixtures.moodTask(tmp, 4);
        float[][] v = new float[3][];
        String[][] flags = {{}, {"--reparam-lr", "0.01"}, {"--reparam-lr", "0.1"}};
        for (int i = 0; i < 3; i++) {
            String[] args = append(train(task, "cap-" + i + ".sp", "--reparam", "residual"), flags[i]);
            args[Arrays.asList(args).indexOf("--lr") + 1] = "0.1";
            Cli.Run r = Cli.run(args);
            assertEquals(0, r.code(), r.err());
            v[i] = Checkpoint.read(tmp.resolve("cap-" + i + ".run").resolve(RunDir.CHECKPOINT)).reparam(); // θ at the end
        }
        assertArrayEquals(v[1], v[0], 0f, "at --lr 0.1 the default is --reparam-lr 0.01, bit for bit");
        assertFalse(Arrays.equals(v[0], v[2]), "--reparam-lr 0.1 trains the network at the prompt's rate instead");
    }

    @Test
    void plainRunsKeepNoReparameterisation() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--tokens", "2",
                "--steps", "2", "--depth", "input", "-o", tmp.resolve("plain.sp").toString());
        assertEquals(0, r.code(), r.err());
        assertNull(Checkpoint.read(tmp.resolve("plain.run").resolve(RunDir.CHECKPOINT)).reparam());
    }

    @Test
    void whatCannotBeCombinedIsRefusedByName() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        String[][] cases = {
            {"--reparam", "mlp", "--depth", "deep"}, {"--reparam mlp trains an input prompt; a deep prompt takes --prefix-projection"},
            {"--prefix-projection", "--depth", "input"}, {"--prefix-projection trains a deep prompt; drop --depth input"},
            {"--reparam", "residual", "--optimizer", "adafactor"}, {"--reparam residual trains with adamw, as PEFT does (got --optimizer adafactor)"},
            {"--reparam-hidden", "8"}, {"--reparam-hidden needs --reparam or --prefix-projection"},
            {"--reparam", "lstm"}, {"--reparam must be none, mlp or residual (got 'lstm')"},
            {"--reparam", "mlp", "--reparam-hidden", "0"}, {"--reparam-hidden must be at least 1 (got 0)"},
            {"--reparam-lr", "0.01"}, {"--reparam-lr needs --reparam or --prefix-projection"},
            {"--reparam", "residual", "--reparam-lr", "0"}, {"--reparam-lr must be positive (got 0.0)"},
        };
        for (int k = 0; k < cases.length; k += 2) {
            List<String> a = new ArrayList<>(List.of("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(),
                    "--steps", "1", "-o", tmp.resolve("refused.sp").toString()));
            a.addAll(Arrays.asList(cases[k]));
            Cli.Run r = Cli.run(a.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", cases[k]) + ": " + r.err());
            assertTrue(r.errLine().endsWith(cases[k + 1][0]), r.err());
        }
    }
}
