package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.prompt.Npy;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.TorchArchive;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 35: {@code embed} hands what the model computes on to another engine. The vLLM payload, read
 * back with the project's own PyTorch reader (what torch.load(weights_only=True) reads), is [N + T, D]:
 * the prompt's rows, then the model's token embeddings of the framed text (GPT-2 adds positions inside
 * the model, so inputs_embeds are the embedding table's rows). npy and safetensors hold the same rows.
 */
class EmbedTest {
    @TempDir
    static Path tmp;
    static Path input;
    static Path deep;
    static String gpt2;

    @BeforeAll
    static void trained() throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        gpt2 = Fixtures.of("gpt2").toString();
        input = tmp.resolve("input.sp");
        deep = tmp.resolve("deep.sp");
        for (Path out : new Path[] {input, deep}) {
            Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "3", "--steps", "2",
                    "--batch-size", "2", "--depth", out == deep ? "deep" : "input", "-o", out.toString());
            assertEquals(0, r.code(), r.err());
        }
    }

    @Test
    void theVllmPayloadIsThePromptRowsThenTheInputEmbeddings() throws Exception {
        Cli.Run r = Cli.run("embed", "--prompt", input.toString(), "--format", "vllm", "a gripping film", "dull");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(2, lines.length, r.out());
        Prompt p = PromptFile.read(input);
        SafetensorsFile weights = SafetensorsFile.open(Fixtures.of("gpt2").resolve("model.safetensors"));
        float[] wte = weights.readFloats("transformer.wte.weight");
        int d = p.hidden();
        for (String line : lines) {
            JsonNode j = Json.MAPPER.readTree(line);
            Path f = tmp.resolve("payload.pt");
            Files.write(f, Base64.getDecoder().decode(j.get("prompt_embeds").asText()));
            SafetensorsFile back = TorchArchive.read(f);
            long[] shape = back.info("tensor").shape();
            float[] rows = back.readFloats("tensor");
            assertEquals(d, shape[1]);
            assertEquals(shape[0], j.get("shape").get(0).asLong());
            assertEquals(3, j.get("prompt_rows").asInt());
            assertArrayEquals(p.values(), Arrays.copyOf(rows, 3 * d), "the prompt's rows first");
            // the rest: embedding-table rows, one per input token
            int t = (int) shape[0] - 3;
            assertTrue(t > 0);
            for (int i = 0; i < t; i++) {
                float[] row = Arrays.copyOfRange(rows, (3 + i) * d, (4 + i) * d);
                boolean found = false;
                for (int v = 0; v < wte.length / d && !found; v++) {
                    found = Arrays.equals(row, Arrays.copyOfRange(wte, v * d, (v + 1) * d));
                }
                assertTrue(found, "row " + (3 + i) + " is a token's embedding");
            }
        }
        Cli.Run npy = Cli.run("embed", "--prompt", input.toString(), "--format", "npy", "--output", tmp.resolve("npy").toString(),
                "a gripping film");
        assertEquals(0, npy.code(), npy.err());
        Npy.Array a = Npy.read(tmp.resolve("npy/0.npy"));
        Files.write(tmp.resolve("first.pt"), Base64.getDecoder().decode(Json.MAPPER.readTree(lines[0]).get("prompt_embeds").asText()));
        assertArrayEquals(TorchArchive.read(tmp.resolve("first.pt")).readFloats("tensor"), a.values(), "npy holds the same rows");
    }

    @Test
    void whatVllmCannotTakeIsRefusedInOneLine() {
        String e = SafeEdgesTest.refused("embed", "--prompt", deep.toString(), "--format", "vllm", "x");
        assertTrue(e.contains("has no place for a prefix in the layers"), e);
        e = SafeEdgesTest.refused("embed", "--prompt", input.toString(), "--format", "npy", "x");
        assertTrue(e.contains("--format npy needs --output DIR"), e);
        e = SafeEdgesTest.refused("embed", "--prompt", input.toString(), "--format", "pickle", "x");
        assertTrue(e.contains("unknown format 'pickle'"), e);
    }
}
