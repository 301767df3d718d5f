package io.softprompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.data.DataSource;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.prompt.Npy;
import io.softprompt.prompt.PeftAdapter;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.Checkpoint;
import io.softprompt.train.TrainConfig;
import io.softprompt.util.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Every format softprompt reads, generated and mutated (see {@link Hostile}): .sp prompts and any
 * safetensors header and body, checkpoints, PEFT adapter folders, .npy arrays, task JSON, training
 * config JSON, TSV, JSON-lines and CSV rows. The property: the reader returns a value or
 * refuses with the one-line bad-input error; never another exception, never seconds, never an
 * allocation sized by a number it has not checked against the file (a 2 GB heap turns that into an
 * OutOfMemoryError, which fails the property). {@value #TRIES} cases per format in the default build;
 * {@link #manyCasesOfEveryFormat} runs {@value #MANY} more under the {@code slow} tag. The HTTP request
 * bodies of serve are in {@code serve.RequestPropertiesTest}, sweep configs in the cli module's
 * {@code sweep.SweepConfigPropertiesTest}.
 */
class ReaderPropertiesTest {
    static final int TRIES = 2000;
    static final int MANY = 100_000;

    static Path dir;
    static byte[] sp;
    static byte[] checkpoint;
    static byte[] npy;
    static JsonNode peftConfig;
    static byte[] peftWeights;

    @BeforeContainer
    static void seeds() throws IOException {
        dir = Files.createTempDirectory("softprompt-properties-");
        float[] v = new float[12];
        for (int i = 0; i < v.length; i++) {
            v[i] = (i - 6) / 7f;
        }
        Map<String, String> meta = new LinkedHashMap<>(PromptFile.taskMetadata(Task.resolve("sst2")));
        meta.put(PromptFile.MODEL_TYPE, "gpt2");
        meta.put(PromptFile.MODEL_NAME, "gpt2");
        Prompt p = new Prompt(v, 3, 4, meta);
        PromptFile.write(dir.resolve("seed.sp"), p);
        sp = Files.readAllBytes(dir.resolve("seed.sp"));
        TrainConfig cfg = TrainConfig.defaults().toBuilder().task("sst2").tokens(3).steps(10).build();
        Checkpoint.State st = new Checkpoint.State(4, cfg.optimizer(), 4, 1, 0, 16, 0.5, null, 2, 1, 0.7, 1.5, 64, null);
        new Checkpoint(v, v.clone(), new long[] {3, 4}, Map.of("m", v.clone(), "v", v.clone()),
                Map.of("m", new long[] {3, 4}, "v", new long[] {3, 4}), st, cfg, "fingerprint").write(dir.resolve("seed.ckpt"));
        checkpoint = Files.readAllBytes(dir.resolve("seed.ckpt"));
        Npy.write(dir.resolve("seed.npy"), v, 3, 4);
        npy = Files.readAllBytes(dir.resolve("seed.npy"));
        PeftAdapter.write(dir.resolve("seed-adapter"), p, "DECODER", false);
        peftConfig = Json.MAPPER.readTree(dir.resolve("seed-adapter").resolve(PeftAdapter.CONFIG).toFile());
        peftWeights = Files.readAllBytes(dir.resolve("seed-adapter").resolve(PeftAdapter.WEIGHTS));
    }

    @AfterContainer
    static void clean() throws IOException {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** The seeds themselves read back: the mutations start from valid files. */
    @Example
    void theSeedsAreValid() {
        assertEquals(3, PromptFile.read(dir.resolve("seed.sp")).tokens());
        assertEquals(4, Checkpoint.read(dir.resolve("seed.ckpt")).state().step());
        assertArrayEquals(PromptFile.read(dir.resolve("seed.sp")).values(), Npy.read(dir.resolve("seed.npy")).values());
        assertEquals(3, PeftAdapter.read(dir.resolve("seed-adapter")).tokens());
    }

    // ---- the formats ----

    enum Format {
        SP, SAFETENSORS_HEADER, CHECKPOINT, PEFT_CONFIG, PEFT_WEIGHTS, NPY, TASK, CONFIG, TSV, JSONL, CSV
    }

    /** One hostile input: the format it imitates and its bytes. */
    record Case(Format format, byte[] bytes) {
        @Override
        public String toString() {
            return format + " (" + bytes.length + " bytes)";
        }
    }

    static final String TASK_JSON = "{\"name\": \"mood\", \"template\": \"{text} It was\", \"text_column\": \"text\","
            + " \"label_column\": \"y\", \"verbalizer\": {\"neg\": \" bad\", \"pos\": \" good\"}, \"train\": \"train.tsv\","
            + " \"dev\": \"dev.tsv\", \"description\": \"a test task\"}";
    static final String CONFIG_JSON = "{\"tokens\": 8, \"lr\": 0.03, \"steps\": 100, \"optimizer\": \"adamw\","
            + " \"init\": \"text\", \"init_text\": \"review :\", \"batch_size\": 4, \"eval_every\": 10, \"patience\": 3,"
            + " \"dev\": \"dev.tsv\", \"train\": \"train.tsv\", \"schedule\": \"linear\", \"warmup\": 10, \"seed\": 7}";
    static final String TSV = "sentence\tlabel\na fine film\t1\na dull plot\t0\n\"quoted\"\t1\n";
    static final String CSV = "id,sentence,label\r\n1,\"a fine, witty film\",1\r\n2,\"it was \"\"dull\"\"\",0\r\n"
            + "3,\"two\nlines\",1\r\n";
    static final String JSONL = "{\"sentence\": \"a fine film\", \"label\": \"1\"}\n{\"sentence\": \"dull\", \"label\": 0}\n";

    static Arbitrary<Case> of(Format f) {
        Arbitrary<byte[]> bytes = switch (f) {
            case SP -> Hostile.bytes(sp);
            case SAFETENSORS_HEADER -> Hostile.safetensors(sp);
            case CHECKPOINT -> Arbitraries.oneOf(Hostile.safetensors(checkpoint), Hostile.bytes(checkpoint));
            case PEFT_CONFIG -> Hostile.json(peftConfig);
            case PEFT_WEIGHTS -> Hostile.safetensors(peftWeights);
            case NPY -> Hostile.bytes(npy);
            case TASK -> Hostile.json(tree(TASK_JSON));
            case CONFIG -> Hostile.json(tree(CONFIG_JSON));
            case TSV -> Hostile.bytes(TSV.getBytes(StandardCharsets.UTF_8));
            case JSONL -> Hostile.bytes(JSONL.getBytes(StandardCharsets.UTF_8));
            case CSV -> Hostile.bytes(CSV.getBytes(StandardCharsets.UTF_8));
        };
        return bytes.map(b -> new Case(f, b));
    }

    private static JsonNode tree(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes the case where its reader looks and reads it; true when the reader accepted it. */
    static boolean read(Case c) {
        try {
            return switch (c.format()) {
                case SP, SAFETENSORS_HEADER -> run(c, "seed.sp", f -> PromptFile.read(f));
                case CHECKPOINT -> run(c, "x.ckpt", f -> Checkpoint.read(f));
                case PEFT_CONFIG -> {
                    Path a = adapter(c.bytes(), peftWeights);
                    yield Hostile.accepts(c.toString(), c.bytes().length, () -> PeftAdapter.read(a));
                }
                case PEFT_WEIGHTS -> {
                    Path a = adapter(Json.write(peftConfig).getBytes(StandardCharsets.UTF_8), c.bytes());
                    yield Hostile.accepts(c.toString(), c.bytes().length, () -> PeftAdapter.read(a));
                }
                case NPY -> run(c, "x.npy", f -> Npy.read(f));
                case TASK -> run(c, "task.json", f -> Task.load(f));
                case CONFIG -> run(c, "config.json", f -> TrainConfig.overlay(TrainConfig.defaults(),
                        Json.read(f, JsonNode.class), f.toString()).validate());
                case TSV -> run(c, "rows.tsv", f -> TsvReader.read(DataSource.file(f), Task.resolve("sst2"), true));
                case JSONL -> run(c, "rows.jsonl", f -> TsvReader.read(DataSource.file(f), Task.resolve("sst2"), true));
                case CSV -> run(c, "rows.csv", f -> TsvReader.read(DataSource.file(f), Task.resolve("sst2"), true));
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean run(Case c, String name, Function<Path, ?> reader) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, c.bytes());
        return Hostile.accepts(c.toString(), c.bytes().length, () -> reader.apply(f));
    }

    private static Path adapter(byte[] config, byte[] weights) throws IOException {
        Path a = Files.createDirectories(dir.resolve("adapter"));
        Files.write(a.resolve(PeftAdapter.CONFIG), config);
        Files.write(a.resolve(PeftAdapter.WEIGHTS), weights);
        return a;
    }

    private static void check(Case c) {
        Statistics.label("outcome").collect(read(c) ? "accepted" : "refused with one line");
    }

    @Provide
    Arbitrary<Case> sp() {
        return of(Format.SP);
    }

    @Provide
    Arbitrary<Case> header() {
        return of(Format.SAFETENSORS_HEADER);
    }

    @Provide
    Arbitrary<Case> checkpoint() {
        return of(Format.CHECKPOINT);
    }

    @Provide
    Arbitrary<Case> peft() {
        return Arbitraries.oneOf(of(Format.PEFT_CONFIG), of(Format.PEFT_WEIGHTS));
    }

    @Provide
    Arbitrary<Case> npy() {
        return of(Format.NPY);
    }

    @Provide
    Arbitrary<Case> task() {
        return of(Format.TASK);
    }

    @Provide
    Arbitrary<Case> config() {
        return of(Format.CONFIG);
    }

    @Provide
    Arbitrary<Case> rows() {
        return Arbitraries.oneOf(of(Format.TSV), of(Format.JSONL), of(Format.CSV));
    }

    @Provide
    Arbitrary<Case> any() {
        return Arbitraries.oneOf(List.of(Format.values()).stream().map(ReaderPropertiesTest::of).toList());
    }

    @Property(tries = TRIES)
    void spFilesAreReadOrRefusedInOneLine(@ForAll("sp") Case c) {
        check(c);
    }

    @Property(tries = TRIES)
    void safetensorsHeadersAreReadOrRefusedInOneLine(@ForAll("header") Case c) {
        check(c);
    }

    @Property(tries = TRIES)
    void checkpointsAreReadOrRefusedInOneLine(@ForAll("checkpoint") Case c) {
        check(c);
    }

    @Property(tries = TRIES)
    void peftAdapterFoldersAreReadOrRefusedInOneLine(@ForAll("peft") Case c) {
        check(c);
    }

    @Property(tries = TRIES)
    void npyFilesAreReadOrRefusedInOneLine(@ForAll("npy") Case c) {
        check(c);
    }

    @Property(tries = TRIES)
    void taskFilesAreReadOrRefusedInOneLine(@ForAll("task") Case c) {
        check(c);
    }

    @Property(tries = TRIES)
    void trainingConfigsAreReadOrRefusedInOneLine(@ForAll("config") Case c) {
        check(c);
    }

    @Property(tries = TRIES)
    void dataRowsAreReadOrRefusedInOneLine(@ForAll("rows") Case c) {
        check(c);
    }

    @Property(tries = MANY)
    @Tag("slow")
    void manyCasesOfEveryFormat(@ForAll("any") Case c) {
        Statistics.label("format").collect(c.format());
        check(c);
    }
}
