package io.softprompt.sweep;

import io.softprompt.Hostile;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Sweep configs, generated and mutated as JSON (see core's {@code Hostile}): {@link SweepPlan#load}
 * and the plan's runs are a value or the one-line bad-input error, never another exception.
 */
class SweepConfigPropertiesTest {
    static final String SWEEP_JSON = "{\"name\": \"s\", \"base\": {\"task\": \"sst2\", \"steps\": 5, \"lr\": 0.03},"
            + " \"grid\": {\"tokens\": [1, 5], \"init\": [\"random\", {\"init\": \"text\", \"init_text\": \"hi\"}],"
            + " \"seed\": [1, 2]}}";
    static Path dir;

    @BeforeContainer
    static void folder() throws IOException {
        dir = Files.createTempDirectory("softprompt-sweep-properties-");
    }

    @AfterContainer
    static void clean() throws IOException {
        Files.deleteIfExists(dir.resolve("sweep.json"));
        Files.deleteIfExists(dir);
    }

    @Provide
    Arbitrary<byte[]> sweeps() throws IOException {
        return Hostile.json(Json.MAPPER.readTree(SWEEP_JSON));
    }

    @Property(tries = 2000)
    void sweepConfigsAreReadOrRefusedInOneLine(@ForAll("sweeps") byte[] bytes) throws IOException {
        Path f = dir.resolve("sweep.json");
        Files.write(f, bytes);
        boolean ok = Hostile.accepts("sweep config (" + bytes.length + " bytes)", bytes.length, () -> SweepPlan.load(f).runs());
        Statistics.label("outcome").collect(ok ? "accepted" : "refused with one line");
    }
}
