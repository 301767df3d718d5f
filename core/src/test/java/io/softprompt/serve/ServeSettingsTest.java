package io.softprompt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.softprompt.util.UserException;
import org.junit.jupiter.api.Test;

/** The one validated settings record: defaults in one place, no value a server cannot use. */
class ServeSettingsTest {
    @Test
    void aLibraryCallerCannotBuildUnusableSettings() {
        UserException zero = assertThrows(UserException.class, () -> ServeSettings.builder().maxBatch(0).build());
        assertEquals("max_batch must be at least 1 (got 0)", zero.getMessage());
        assertThrows(UserException.class, () -> ServeSettings.builder().port(70_000).build());
        assertThrows(UserException.class, () -> ServeSettings.builder().readTimeoutMillis(0).build());
        assertThrows(UserException.class, () -> ServeSettings.builder().token(" ").build());
    }

    @Test
    void aBuilderChangesOnlyWhatItIsTold() {
        ServeSettings s = ServeSettings.builder().port(0).maxConnections(2).build();
        assertEquals(0, s.port());
        assertEquals(2, s.maxConnections());
        assertEquals(ServeSettings.DEFAULTS.maxBatch(), s.maxBatch());
        assertEquals(ServeSettings.DEFAULTS, ServeSettings.DEFAULTS.toBuilder().build());
    }
}
