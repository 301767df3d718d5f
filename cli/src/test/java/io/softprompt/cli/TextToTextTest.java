package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        // "-deep": a deep prompt (decoders), the target read after [input] with the prefix in every layer
        return Stream.of("gpt2", "llama", "t5", "gpt2-deep", "llama-deep").map(name -> DynamicTest.dynamicTest(name, () -> {
            String arch = name.replace("-deep", "");
            boolean deep = name.endsWith("-deep");
            Path model = Fixtures.of(arch);
            Path sp = tmp.resolve(name + ".sp");
            // T5's tied head is scaled by d_model^-0.5: its prompt needs a gentler rate and more steps
            boolean t5 = arch.equals("t5");
            Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", model.toString(),
                    "--tokens", t5 ? "8" : "4", "--steps", t5 ? "300" : "80", "--lr", t5 ? "0.1" : deep ? "0.05" : "0.3",
                    "--init", t5 ? "random" : "vocab", "--eval-every", t5 ? "100" : "40", "--depth", deep ? "deep" : "input",
                    "--json", "-o", sp.toString());
            assertEquals(0, t.code(), t.err());
            assertTrue(t.err().contains("(best dev exact match ") && !t.err().contains("best dev accuracy"),
                    "a text-to-text run names its metric (issue 35): " + t.err());
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
            assertEquals(deep ? PromptSite.DEEP : PromptSite.INPUT, PromptFile.read(sp).site());

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

    /** infer's sampling flags: a seed reproduces the text; sampling flags need --do-sample; --stop cuts. */
    @Test
    void inferSamplesReproduciblyForASeed() throws Exception {
        Path model = Fixtures.of("gpt2");
        Path sp = tmp.resolve("sample.sp");
        Cli.Run t = Cli.run("train", "--task", task().toString(), "--model", model.toString(), "--tokens", "3", "--steps", "0",
                "-o", sp.toString());
        assertEquals(0, t.code(), t.err());
        String[] sample = {"infer", "--prompt", sp.toString(), "--model", model.toString(), "--do-sample", "--temperature", "1.5",
            "--top-k", "0", "--seed", "11", "--max-new-tokens", "10", "--json", "the movie", "a plot"};
        Cli.Run a = Cli.run(sample);
        Cli.Run b = Cli.run(sample);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out(), "the same seed gives the same text");
        List<String> lines = a.out().lines().toList();
        assertEquals(2, lines.size(), a.out());
        JsonNode first = Json.MAPPER.readTree(lines.get(0));
        assertEquals(11, first.get("seed").asLong());
        assertTrue(List.of("eos", "length").contains(first.get("finish_reason").asText()), a.out());

        Cli.Run greedy = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "--max-new-tokens", "10", "the movie");
        Cli.Run cold = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "--max-new-tokens", "10",
                "--do-sample", "--temperature", "0", "the movie");
        assertEquals(greedy.out(), cold.out(), "temperature 0 is greedy");
        String text = greedy.out().strip();
        if (text.length() > 2) {
            String stop = text.substring(text.length() / 2, text.length() / 2 + 1);
            Cli.Run cut = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "--max-new-tokens", "10",
                    "--stop", stop, "--json", "the movie");
            JsonNode j = Json.MAPPER.readTree(cut.out());
            assertEquals("stop", j.get("finish_reason").asText(), cut.out());
            assertFalse(j.get("generated").asText().contains(stop), cut.out());
        }

        Cli.Run bad = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "--temperature", "0.7", "x");
        assertEquals(2, bad.code());
        assertTrue(bad.errLine().endsWith("--temperature, --top-k, --top-p and --seed apply to sampling: add --do-sample"), bad.err());
        Cli.Run badP = Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "--do-sample", "--top-p", "2", "x");
        assertEquals(2, badP.code());
        assertTrue(badP.errLine().contains("--top-p must be in (0, 1]"), badP.err());
    }
}
