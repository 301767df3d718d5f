package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.api.SoftPrompt;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.gemma3.Gemma3Checkpoint;
import io.softprompt.model.llama.FamilyCheckpoints;
import io.softprompt.model.modernbert.ModernBertCheckpoint;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The random checkpoints the cost benchmark writes at published shapes (bfloat16, sharded with an index)
 * load and train, here at sizes no fixture has (odd head sizes, more layers than one window pattern):
 * the architectures assume nothing of the fixtures' sizes.
 */
class FamilyCheckpointsTest {
    @Test
    void everyFamilysRandomCheckpointLoadsAndTrains(@TempDir Path tmp) throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        record Case(String fixture, Path dir) {}
        Path qwen = tmp.resolve("qwen3");
        FamilyCheckpoints.writeQwen3(qwen, new FamilyCheckpoints.Shape(3, 40, 5, 1, 12, 56, 424, 256), 1);
        Path phi = tmp.resolve("phi3");
        FamilyCheckpoints.writePhi3(phi, new FamilyCheckpoints.Shape(3, 48, 4, 2, 12, 40, 425, 256), 0.5, 2);
        Path gemma = tmp.resolve("gemma3");
        Gemma3Checkpoint.writeRandom(gemma, new Gemma3Checkpoint.Shape(7, 40, 2, 1, 20, 72, 425, 256, 3, 3), 3);
        Path bert = tmp.resolve("modernbert");
        ModernBertCheckpoint.writeRandom(bert, new ModernBertCheckpoint.Shape(4, 48, 4, 40, 426, 256, 4, 3), 4);
        for (Case c : List.of(new Case("qwen3", qwen), new Case("phi3", phi), new Case("gemma3", gemma), new Case("modernbert", bert))) {
            for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
                Path from = Fixtures.of(c.fixture()).resolve(f);
                if (Files.isRegularFile(from)) {
                    Files.copy(from, c.dir().resolve(f));
                }
            }
            assertTrue(Files.isRegularFile(c.dir().resolve("model.safetensors.index.json")), c.fixture());
            assertTrue(Files.isRegularFile(c.dir().resolve("model-00001-of-00001.safetensors")), c.fixture());
            try (SoftPrompt sp = SoftPrompt.of(LoadedModel.load(c.dir(), c.fixture()))) {
                TrainJob.Outcome run = sp.train(TrainConfig.builder().task(task.toString()).tokens(2).steps(2).batchSize(2)
                        .output(tmp.resolve(c.fixture() + ".sp").toString()).build());
                assertEquals(6, run.result().bestDev().examples(), c.fixture() + ": every dev row scored");
                assertTrue(Double.isFinite(run.result().bestDev().accuracy()), c.fixture());
            }
        }
    }
}
