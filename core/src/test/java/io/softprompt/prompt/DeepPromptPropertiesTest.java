package io.softprompt.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.softprompt.Fixtures;
import io.softprompt.Hostile;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Issue 34: a deep .sp's layout fields are checked against the model, never trusted. Each try takes a
 * deep prompt of the gpt2 fixture and gives its metadata hostile values (prefix_layers,
 * prefix_kv_heads, prefix_width, hidden_size, the depth itself: numbers off by one, zero, negative,
 * huge, fractional, text). Reading it, fitting it to the model and writing its PEFT config either
 * refuses in one line or yields an adapter whose layers and widths are the model's own: lying values
 * once wrote num_layers 1 for a 2-layer model.
 */
class DeepPromptPropertiesTest {
    static LoadedModel model;
    static Prompt deep;
    static Path dir;

    @BeforeContainer
    static void seed() throws IOException {
        model = LoadedModel.load(Fixtures.of("gpt2"), "gpt2-tiny");
        int width = PromptSite.DEEP.width(model.lm());
        Map<String, String> meta = PromptFile.metadata(model, "gpt2-tiny", Task.resolve("sst2"), "random");
        PromptFile.markSite(meta, PromptSite.DEEP, model);
        deep = new Prompt(new float[2 * width], 2, width, meta);
        dir = Files.createTempDirectory("softprompt-deep-properties-");
    }

    @AfterContainer
    static void close() throws IOException {
        model.close();
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    @Provide
    Arbitrary<Map<String, String>> lies() {
        Arbitrary<String> key = Arbitraries.of(PromptFile.PREFIX_LAYERS, PromptFile.PREFIX_KV_HEADS, PromptFile.PREFIX_WIDTH,
                PromptFile.HIDDEN_SIZE, PromptFile.DEPTH);
        Arbitrary<String> value = Arbitraries.oneOf(Arbitraries.of("0", "1", "2", "3", "4", "-1", "1.5", "2e0", "", " 2",
                "2147483647", "2147483648", "99999999999999999999", "deep", "input", "NaN", "\u00002"),
                Arbitraries.integers().between(1, 600).map(String::valueOf));
        return Arbitraries.maps(key, value).ofMinSize(1).ofMaxSize(4);
    }

    @Property(tries = 300)
    void aDeepPromptsLayoutIsTheModelsOrRefused(@ForAll("lies") Map<String, String> lies) throws Exception {
        Path f = dir.resolve("deep.sp");
        Map<String, String> meta = new LinkedHashMap<>(deep.metadata());
        meta.putAll(lies);
        PromptFile.write(f, new Prompt(deep.values(), deep.tokens(), deep.hidden(), meta));
        Map<String, Object>[] written = new Map[1];
        boolean accepted = Hostile.accepts(lies.toString(), 0, () -> {
            Prompt back = PromptFile.read(f);
            back.checkFits(model, f.toString(), false);
            if (back.site() == PromptSite.DEEP) {
                written[0] = PeftAdapter.config(back, "DECODER");
            }
            return back;
        });
        if (accepted && written[0] != null) {
            int layers = model.lm().attention().layers();
            assertEquals(layers, written[0].get("num_layers"), lies.toString());
            assertEquals(model.lm().attention().kvHeads(), written[0].get("num_attention_heads"), lies.toString());
            assertEquals(PromptSite.DEEP.width(model.lm()), 2 * layers * (Integer) written[0].get("token_dim"), lies.toString());
        }
    }

    @Property(tries = 50)
    void anInputPromptNeverPassesForADeepOne(@ForAll("lies") Map<String, String> lies) throws Exception {
        Path f = dir.resolve("input.sp");
        Map<String, String> meta = new LinkedHashMap<>(deep.metadata());
        meta.putAll(lies);
        int d = model.lm().hiddenSize();
        PromptFile.write(f, new Prompt(new float[2 * d], 2, d, meta));
        Hostile.accepts(lies.toString(), 0, () -> {
            Prompt back = PromptFile.read(f);
            back.checkFits(model, f.toString(), false);
            return List.of(back.site(), PeftAdapter.config(back, "DECODER"));
        });
    }

    /**
     * A PEFT prefix adapter with hostile num_layers, num_attention_heads, token_dim and
     * num_virtual_tokens (and weights of the shape they claim, or the model's) is read and fitted to the
     * model, or refused in one line; one that is taken is the model's own layout.
     */
    @Property(tries = 200)
    void aPrefixAdaptersFieldsAreTheModelsOrRefused(@ForAll("adapterLies") Map<String, Integer> lies,
            @ForAll boolean weightsAsClaimed) throws Exception {
        var at = model.lm().attention();
        int layers = lies.getOrDefault("num_layers", at.layers());
        int heads = lies.getOrDefault("num_attention_heads", at.kvHeads());
        int tokenDim = lies.getOrDefault("token_dim", at.kvHeads() * at.headSize());
        int n = lies.getOrDefault("num_virtual_tokens", 2);
        Path dir = Files.createDirectories(DeepPromptPropertiesTest.dir.resolve("adapter"));
        Files.writeString(dir.resolve(PeftAdapter.CONFIG), "{\"peft_type\": \"PREFIX_TUNING\", \"task_type\": \"CAUSAL_LM\", "
                + "\"num_virtual_tokens\": " + n + ", \"token_dim\": " + tokenDim + ", \"num_layers\": " + layers
                + ", \"num_attention_heads\": " + heads + ", \"num_transformer_submodules\": 1}");
        long rows = weightsAsClaimed ? Math.max(1, Math.min(n, 64)) : 2;
        long width = weightsAsClaimed ? Math.max(1, Math.min(2L * layers * tokenDim, 4096)) : PromptSite.DEEP.width(model.lm());
        Map<String, io.softprompt.safetensors.SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put(PromptFile.TENSOR, io.softprompt.safetensors.SafetensorsWriter.Tensor.f32(new float[(int) (rows * width)], rows, width));
        try (var out = Files.newOutputStream(dir.resolve(PeftAdapter.WEIGHTS))) {
            io.softprompt.safetensors.SafetensorsWriter.write(out, t, Map.of());
        }
        PeftAdapter.Adapter[] read = new PeftAdapter.Adapter[1];
        boolean taken = Hostile.accepts(lies.toString(), 0, () -> {
            read[0] = PeftAdapter.read(dir);
            PeftAdapter.requireFits(read[0], model.lm(), "gpt2-tiny", dir.toString());
            return read[0];
        });
        if (taken) {
            assertEquals(at.layers(), read[0].config().path("num_layers").asInt(), lies.toString());
            assertEquals(PromptSite.DEEP.width(model.lm()), read[0].dim(), lies.toString());
        }
    }

    @Provide
    Arbitrary<Map<String, Integer>> adapterLies() {
        Arbitrary<String> key = Arbitraries.of("num_layers", "num_attention_heads", "token_dim", "num_virtual_tokens");
        Arbitrary<Integer> value = Arbitraries.oneOf(Arbitraries.of(0, 1, 2, 3, 4, 64, 128, -1, Integer.MAX_VALUE, 1 << 20),
                Arbitraries.integers().between(1, 300));
        return Arbitraries.maps(key, value).ofMaxSize(3);
    }
}
