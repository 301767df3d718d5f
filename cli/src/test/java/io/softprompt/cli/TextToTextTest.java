package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** Text-to-text tasks (JSON lines of input and target, exact match) on the architectures that generate. */
class TextToTextTest {
    @TempDir
    static Path tmp;

    static Path task() throws Exception {
        Path task = tmp.resolve("echo.json");
        Files.writeString(task, """
                {"name": "echo", "type": "text-to-text", "template": "{input} it was",
                 "train": "echo.jsonl", "dev": "echo.jsonl"}
                """);
        StringBuilder rows = new StringBuilder();
        for (int k = 0; k < 6; k++) {
            rows.append("{\"input\": \"the movie was great and fine\", \"target\": \"good\"}\n");
            rows.append("{\"input\": \"a dull boring plot\", \"target\": \"bad\"}\n");
        }
        Files.writeString(tmp.resolve("echo.jsonl"), rows);
        return task;
    }

    @TestFactory
    Stream<DynamicTest> trainsToExactMatch() throws Exception {
        Path task = task();
        return Stream.of("gpt2", "llama", "t5").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            Path model = Fixtures.of(arch);
            Path sp = tmp.resolve(arch + ".sp");
            // T5's tied head is scaled by d_model^-0.5: its prompt needs a gentler rate and more steps
            boolean t5 = arch.equals("t5");
            Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", model.toString(),
                    "--tokens", t5 ? "8" : "4", "--steps", t5 ? "300" : "80", "--lr", t5 ? "0.1" : "0.3",
                    "--init", t5 ? "random" : "vocab", "--eval-every", t5 ? "100" : "40", "--json", "-o", sp.toString());
            assertEquals(0, t.code(), t.err());
            JsonNode j = Json.MAPPER.readTree(t.out());
            if (t5) {
                // the random tiny T5's greedy answer flips between evaluations, so check the loss instead:
                // it starts at about ln(V) = 6.05 and must fall far below it
                assertTrue(j.get("final_loss").asDouble() < 4.0, "t5 text-to-text loss falls: " + t.out());
            } else {
                assertEquals(1.0, j.get("best_dev_accuracy").asDouble(), 0.0,
                        arch + ": the prompt alone learns to answer two fixed inputs: " + t.err());
            }
            assertEquals("text-to-text", PromptFile.read(sp).meta(PromptFile.TASK_TYPE));

            Cli.Run e = Cli.run("eval", "--prompt", sp.toString(), "--model", model.toString(), "--json");
            assertEquals(0, e.code(), e.err());
            double em = Json.MAPPER.readTree(e.out()).get("exact_match").asDouble();
            assertEquals(j.get("best_dev_accuracy").asDouble(), em, 0.0, "eval reproduces the best dev exact match");

            Cli.Run i = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "a dull boring plot");
            assertEquals(0, i.code(), i.err());
            if (!t5) {
                assertEquals("bad", i.out().strip());
            }
        }));
    }

    @Test
    void maskedLmsRefuseTextToText() throws Exception {
        Cli.Run t = Cli.run("train", "--task", task().toString(), "--model", Fixtures.of("bert").toString(),
                "--steps", "2", "-o", tmp.resolve("bert.sp").toString());
        assertEquals(2, t.code());
        assertTrue(t.err().contains("masked LM cannot generate"), t.err());
    }
}
