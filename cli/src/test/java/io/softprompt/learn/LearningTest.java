package io.softprompt.learn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.cli.Cli;
import io.softprompt.util.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tuned prompt learns: configs/train-sentiment-lm.json on the embedded sentiment-lm (a small GPT-2
 * trained to hold a sentiment skill behind a cue) with the built-in sst2 task, 3 seeds. Measured on
 * the 2-core build machine: initial dev accuracy 0.525 / 0.514 / 0.514, best 0.592 / 0.603 / 0.586
 * (mean gain +0.076), about 70 s a seed. Asserted with room for noise: every seed's best at least
 * 0.55 (the dev majority class is 0.509), the mean gain at least 0.05.
 */
@Tag("slow")
class LearningTest {
    @TempDir
    Path tmp;

    @Test
    void promptTuningLiftsDevAccuracyWellAboveItsStart() throws Exception {
        Path recipe = Path.of(System.getProperty("softprompt.root", "..")).resolve("configs/train-sentiment-lm.json");
        List<Double> initial = new ArrayList<>();
        List<Double> best = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int seed = 1; seed <= 3; seed++) {
            Cli.Run r = Cli.run("train", "--config", recipe.toString(), "--seed", Integer.toString(seed), "--models-dir",
                    tmp.resolve("models").toString(), "-o", tmp.resolve("seed-" + seed + ".sp").toString(), "--json");
            assertEquals(0, r.code(), r.err());
            JsonNode j = Json.MAPPER.readTree(r.out());
            assertEquals("sentiment-lm", j.get("model").asText());
            initial.add(j.get("initial_dev_accuracy").asDouble());
            best.add(j.get("best_dev_accuracy").asDouble());
            System.out.printf("LEARN seed %d: initial %.4f, best %.4f at step %d%n", seed, initial.get(seed - 1),
                    best.get(seed - 1), j.get("best_step").asInt());
        }
        double mi = initial.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double mb = best.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        System.out.printf("LEARN mean initial %.4f, mean best %.4f, gain %+.4f, %.0f s%n", mi, mb, mb - mi,
                (System.nanoTime() - t0) / 1e9);
        for (double b : best) {
            assertTrue(b >= 0.55, "every seed well above the majority class (0.509): " + best);
        }
        assertTrue(mb - mi >= 0.05, "mean gain at least 5 points: " + initial + " -> " + best);
    }

    /**
     * A deep prompt learns more: configs/train-sentiment-lm-deep.json (AdamW 0.03, batch 16, 1,500 steps), 3
     * seeds. Measured: best 0.6812 / 0.6938 / 0.6892 (mean 0.6881), about 50 s a seed. Asserted with room
     * for noise: every seed's best at least 0.64, the mean at least 0.66 (above the model's own cue,
     * 0.659, within a point) and at least 0.05 above the input-prompt recipe's measured mean (0.593).
     */
    @Test
    void aDeepPromptLearnsMoreThanAnInputPrompt() throws Exception {
        Path recipe = Path.of(System.getProperty("softprompt.root", "..")).resolve("configs/train-sentiment-lm-deep.json");
        List<Double> best = new ArrayList<>();
        for (int seed = 1; seed <= 3; seed++) {
            Cli.Run r = Cli.run("train", "--config", recipe.toString(), "--seed", Integer.toString(seed), "--models-dir",
                    tmp.resolve("models").toString(), "-o", tmp.resolve("deep-" + seed + ".sp").toString(), "--json");
            assertEquals(0, r.code(), r.err());
            JsonNode j = Json.MAPPER.readTree(r.out());
            best.add(j.get("best_dev_accuracy").asDouble());
            System.out.printf("LEARN deep seed %d: initial %.4f, best %.4f at step %d%n", seed,
                    j.get("initial_dev_accuracy").asDouble(), best.get(seed - 1), j.get("best_step").asInt());
        }
        double mb = best.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        System.out.printf("LEARN deep mean best %.4f%n", mb);
        for (double b : best) {
            assertTrue(b >= 0.64, "every deep seed at least 0.64: " + best);
        }
        assertTrue(mb >= 0.66, "mean best at least 0.66: " + best);
        assertTrue(mb - 0.593 >= 0.05, "at least 5 points above the input prompt's 0.593: " + best);
    }

    /**
     * The README's first command, {@code softprompt train --task sst2 --tokens 20}, on the embedded
     * sentiment-lm with every default (depth auto: a deep prompt; 1,000 steps of batch 8, AdamW 0.03, seed 42)
     * ends above 0.60 dev accuracy: measured 0.6583 at step 950, 34 s (README). Asserted as the README states it.
     */
    @Test
    void theReadmesFirstCommandLearns() throws Exception {
        Cli.Run r = Cli.run("train", "--task", "sst2", "--tokens", "20", "--models-dir", tmp.resolve("models").toString(),
                "-o", tmp.resolve("first.sp").toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertEquals("sentiment-lm", j.get("model").asText());
        assertTrue(r.err().contains("training a 20-token deep prompt"), r.err());
        System.out.printf("LEARN first command: initial %.4f, best %.4f at step %d, %.0f s%n",
                j.get("initial_dev_accuracy").asDouble(), j.get("best_dev_accuracy").asDouble(), j.get("best_step").asInt(),
                j.get("wall_seconds").asDouble());
        assertTrue(j.get("best_dev_accuracy").asDouble() > 0.60, "above 0.60 at its end: " + j);
    }
}
