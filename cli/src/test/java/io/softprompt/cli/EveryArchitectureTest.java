package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.model.ModelFolder;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** train → eval → infer from the CLI, in-process, on every fixture (one per architecture). */
class EveryArchitectureTest {
    @TempDir
    static Path tmp;

    @TestFactory
    Stream<DynamicTest> trainEvalInfer() throws Exception {
        Path task = tmp.resolve("mood.json");
        Files.writeString(task, """
                {"name": "mood", "template": "{text} it was", "text_column": "text", "label_column": "y",
                 "verbalizer": {"neg": " bad", "pos": " good"}, "train": "mood.tsv", "dev": "mood.tsv"}
                """);
        StringBuilder rows = new StringBuilder("text\ty\n");
        for (int k = 0; k < 8; k++) {
            rows.append("the movie was great and fine\tpos\n").append("a dull boring plot\tneg\n");
        }
        Files.writeString(tmp.resolve("mood.tsv"), rows);
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            Path sp = tmp.resolve(dir.getFileName() + ".sp");
            // the random tiny ModernBERT's [MASK] sees the sentence's words only through its global layers (its local
            // window is 2 either side): an input prompt (golden- and gradient-checked) cannot separate the two
            // sentences there (0.5 after 60 and 200 steps), a deep prompt, in every layer, does (1.0 after 60)
            String depth = ModelFolder.open(dir).modelType().equals("modernbert") ? "deep" : "auto";
            Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", dir.toString(), "--tokens", "3",
                    "--steps", "60", "--lr", "0.3", "--eval-every", "30", "--init", "labels", "--depth", depth, "--json",
                    "-o", sp.toString());
            assertEquals(0, t.code(), t.err());
            JsonNode j = Json.MAPPER.readTree(t.out());
            assertEquals(1.0, j.get("best_dev_accuracy").asDouble(), 0.0,
                    dir.getFileName() + ": a two-sentence task is learnable by the prompt alone: " + t.err());
            assertEquals(ModelFolder.open(dir).modelType(), PromptFile.read(sp).meta(PromptFile.MODEL_TYPE));

            Cli.Run e = Cli.run("eval", "--prompt", sp.toString(), "--model", dir.toString(), "--json");
            assertEquals(0, e.code(), e.err());
            assertEquals(1.0, Json.MAPPER.readTree(e.out()).get("accuracy").asDouble(), 0.0);

            Cli.Run i = Cli.run("infer", "--prompt", sp.toString(), "--model", dir.toString(), "--json",
                    "a dull boring plot", "the movie was great and fine");
            assertEquals(0, i.code(), i.err());
            String[] lines = i.out().strip().split("\n");
            assertEquals("neg", Json.MAPPER.readTree(lines[0]).get("label").asText());
            assertEquals("pos", Json.MAPPER.readTree(lines[1]).get("label").asText());
            assertTrue(Json.MAPPER.readTree(lines[0]).get("probabilities").get("neg").asDouble() > 0.5);

            Cli.Run g = Cli.run("infer", "--prompt", sp.toString(), "--model", dir.toString(), "--generate",
                    "--max-new-tokens", "3", "--json", "a dull boring plot");
            if (List.of("bert", "modernbert").contains(ModelFolder.open(dir).modelType())) {
                assertEquals(2, g.code(), "a masked LM does not generate: " + g.err());
                assertTrue(g.err().contains("does not generate"), g.err());
            } else {
                assertEquals(0, g.code(), g.err());
                JsonNode gj = Json.MAPPER.readTree(g.out());
                assertTrue(gj.get("tokens").asInt() <= 3);
                assertTrue(gj.has("generated"));
            }
        }));
    }
}
