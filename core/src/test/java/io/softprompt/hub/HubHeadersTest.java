package io.softprompt.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.io.StringWriter;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the hub client takes from its environment and from a hub's headers (issue 34): an HF_TOKEN an
 * HTTP header cannot carry is refused before any request, in one line that never shows it (it was
 * printed whole inside an internal error); a malformed HF_ENDPOINT is one line naming it (five forms
 * were internal errors); a Content-Range is read only when it is well formed (a non-numeric total was
 * an internal error). Properties over hostile strings: never another exception, never the token.
 */
class HubHeadersTest {
    /** Tokens with a character a header cannot carry inside them (leading and trailing blanks are stripped, as huggingface_hub does). */
    @Provide
    Arbitrary<String> tokens() {
        return Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(40).flatMap(base ->
                Arbitraries.of('\n', '\r', '\u200b', '\u007f', '\u00e9', '\u4e2d', ' ', '\t', '\u0000')
                        .flatMap(bad -> Arbitraries.integers().between(1, base.length())
                                .map(at -> base.substring(0, at) + bad + base.substring(at) + "_tail")));
    }

    @Property(tries = 300)
    void aTokenAHeaderCannotCarryIsRefusedWithoutShowingIt(@ForAll("tokens") String token) {
        UserException e = assertThrows(UserException.class,
                () -> new HubClient("http://127.0.0.1:9", token, quiet(), false));
        assertTrue(e.getMessage().startsWith("HF_TOKEN holds a character an HTTP header cannot carry"), e.getMessage());
        assertFalse(e.getMessage().contains(token.strip()), e.getMessage());
        assertFalse(e.getMessage().contains("_tail"), e.getMessage());
    }

    @Property(tries = 200)
    void aTokenOfVisibleAsciiIsTaken(@ForAll("ascii") String token) {
        new HubClient("http://127.0.0.1:9", token, quiet(), false);
    }

    @Provide
    Arbitrary<String> ascii() {
        return Arbitraries.strings().withCharRange('!', '~').ofMinLength(1).ofMaxLength(60);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ftp://hub.example", "http://hub.example:99999", "http://::1:8080", "http://hub example.com",
            "hub.example.com", "https://user:pa55@hub.example", "http://:8080", "https://hub.example/?q=1", "javascript:x"})
    void aMalformedEndpointIsOneLineNamingHfEndpoint(String endpoint) {
        UserException e = assertThrows(UserException.class, () -> new HubClient(endpoint, null, quiet(), false));
        System.out.println("ENDPOINT " + endpoint + " -> " + e.getMessage());
        assertTrue(e.getMessage().startsWith("HF_ENDPOINT"), e.getMessage());
        assertFalse(e.getMessage().contains("pa55"), "a password in the address is not shown: " + e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://huggingface.co", "http://127.0.0.1:8080", "http://[::1]:8080/", "https://hf-mirror.com/prefix"})
    void aWellFormedEndpointIsTaken(String endpoint) {
        assertTrue(endpoint.startsWith(new HubClient(endpoint, null, quiet(), false).endpoint()));
    }

    @Test
    void contentRangeIsReadOnlyWhenWellFormed() {
        assertArrayEquals(new long[] {100, 1000}, HubHeaders.contentRange("bytes 100-999/1000"));
        assertArrayEquals(new long[] {0, -1}, HubHeaders.contentRange("bytes 0-9/*"));
        for (String bad : new String[] {"bytes 0-9/abc", "bytes 0-9/", "bytes */1000", "bytes 9-0/10", "bytes 0-10/10",
                "bytes 0-9/99999999999999999999", "items 0-9/10", "", "bytes -1-9/10"}) {
            assertNull(HubHeaders.contentRange(bad), bad);
        }
    }

    @Property(tries = 500)
    void contentRangeNeverThrows(@ForAll("ranges") String header) {
        long[] r = HubHeaders.contentRange(header);
        assertTrue(r == null || r[0] >= 0 && (r[1] == -1 || r[1] > r[0]), header);
    }

    @Provide
    Arbitrary<String> ranges() {
        Arbitrary<String> num = Arbitraries.oneOf(Arbitraries.longs().between(-5, Long.MAX_VALUE).map(String::valueOf),
                Arbitraries.of("", "*", "abc", "1e9", "0x10", "99999999999999999999", " 1"));
        return num.list().ofSize(3).flatMap(n -> Arbitraries.of("bytes ", "", "bytes=", "BYTES ")
                .map(p -> p + n.get(0) + "-" + n.get(1) + "/" + n.get(2)));
    }

    @Test
    void etagsAreNormalisedAsHuggingFaceHubDoes() {
        assertEquals("abc", HubHeaders.normalizeEtag(" W/\"abc\" "));
    }

    private static PrintWriter quiet() {
        return new PrintWriter(new StringWriter());
    }
}
