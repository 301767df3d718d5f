package io.softprompt.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.softprompt.Fixtures;
import io.softprompt.TestPrompts;
import io.softprompt.api.SoftPrompt;
import io.softprompt.infer.MultiTask;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.TorchArchive;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 35: a model folder with only {@code pytorch_model.bin} (written by the project's own writer
 * from a fixture's safetensors, whole or as a sharded index) loads and scores exactly as its
 * safetensors twin: the same fingerprint and the same probabilities, to the bit.
 */
class TorchCheckpointTest {
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aPytorchCheckpointScoresAsItsSafetensorsTwin(boolean sharded, @TempDir Path tmp) throws Exception {
        Path fixture = Fixtures.of("gpt2");
        Path twin = Files.createDirectories(tmp.resolve("gpt2-bin"));
        try (var s = Files.list(fixture)) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().endsWith(".safetensors") && !p.getFileName().toString().startsWith("golden")) {
                    Files.copy(p, twin.resolve(p.getFileName()));
                }
            }
        }
        SafetensorsFile weights = SafetensorsFile.open(fixture.resolve("model.safetensors"));
        Map<String, TorchArchive.Floats> all = new LinkedHashMap<>();
        for (String name : weights.names()) {
            all.put(name, new TorchArchive.Floats(weights.readFloats(name), weights.info(name).shape()));
        }
        if (sharded) { // two shards and their index, as transformers writes a large checkpoint
            Map<String, TorchArchive.Floats> first = new LinkedHashMap<>();
            Map<String, TorchArchive.Floats> second = new LinkedHashMap<>();
            StringBuilder index = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
            int k = 0;
            for (var e : all.entrySet()) {
                String shard = k % 2 == 0 ? "pytorch_model-00001-of-00002.bin" : "pytorch_model-00002-of-00002.bin";
                (k++ % 2 == 0 ? first : second).put(e.getKey(), e.getValue());
                index.append(k > 1 ? ", " : "").append('"').append(e.getKey()).append("\": \"").append(shard).append('"');
            }
            Files.write(twin.resolve("pytorch_model-00001-of-00002.bin"), TorchArchive.bytes(first));
            Files.write(twin.resolve("pytorch_model-00002-of-00002.bin"), TorchArchive.bytes(second));
            Files.writeString(twin.resolve("pytorch_model.bin.index.json"), index.append("}}").toString());
        } else {
            Files.write(twin.resolve("pytorch_model.bin"), TorchArchive.bytes(all));
        }
        assertFalse(Files.exists(twin.resolve("model.safetensors")));

        Path task = Fixtures.moodTask(tmp, 2);
        Path sp = TestPrompts.initial(fixture, task, 3, "random", tmp.resolve("p.sp"));
        Prompt prompt = PromptFile.read(sp);
        List<String> texts = List.of("the movie was great", "a dull plot", "fine");
        List<MultiTask.Answer> fromSafetensors;
        List<MultiTask.Answer> fromTorch;
        String fp1;
        String fp2;
        try (SoftPrompt a = SoftPrompt.of(LoadedModel.load(fixture, "st"))) {
            fp1 = a.model().fingerprint();
            fromSafetensors = a.predict(prompt, texts);
        }
        try (SoftPrompt b = SoftPrompt.of(LoadedModel.load(twin, "bin"))) {
            fp2 = b.model().fingerprint();
            fromTorch = b.predict(prompt, texts);
        }
        assertEquals(fp1, fp2, "the same embeddings");
        for (int i = 0; i < texts.size(); i++) {
            assertEquals(fromSafetensors.get(i).probabilities(), fromTorch.get(i).probabilities(), texts.get(i));
        }
    }
}
