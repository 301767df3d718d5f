package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 37: an instruct checkpoint's generation_config.json names several end ids (Qwen's <|im_end|> and
 * <|endoftext|>, Gemma's <end_of_turn> and <eos>); generation stops at any of them, not at eos alone.
 * The fixture's first greedy token is made an end id: the same request then ends at once, "eos".
 */
class EndIdsTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3", "gemma3"})
    void generationStopsAtEveryEndIdTheCheckpointNames(String arch, @TempDir Path tmp) throws Exception {
        Path src = Fixtures.of(arch);
        Path copy = Files.createDirectories(tmp.resolve(arch));
        try (var s = Files.list(src)) {
            for (Path p : s.toList()) {
                Files.copy(p, copy.resolve(p.getFileName()));
            }
        }
        long[] input = {5, 6, 7};
        long first;
        Generator.Request r;
        try (LoadedModel m = LoadedModel.load(copy, arch)) {
            r = new Generator.Request(new float[m.lm().hiddenSize()], 1, input, Decoding.greedy(5), PromptSite.INPUT);
            Generator.Output free = new Generator(m.lm(), m.tokenizer(), true).generate(r);
            assertTrue(free.ids().length > 0, arch + ": " + free.finish());
            first = free.ids()[0];
        }
        Files.writeString(copy.resolve("generation_config.json"), "{\"eos_token_id\": [9999, " + first + "]}");
        try (LoadedModel m = LoadedModel.load(copy, arch)) {
            assertTrue(m.lm().specials().ends(first), "the second end id is an end");
            Generator.Output stopped = new Generator(m.lm(), m.tokenizer(), true).generate(r);
            assertEquals(0, stopped.ids().length, arch + ": stopped at the end id " + first);
            assertEquals("eos", stopped.finish());
        }
    }
}
