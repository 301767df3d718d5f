package io.softprompt.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The one redaction rule (issue 34): a registered secret never reaches a message, whatever surrounds
 * it and whatever characters it holds — a line break, a zero-width space, DEL, non-Latin-1, the mask's
 * own letters — through a {@link UserException}'s message, a quoted value, a stack trace.
 */
class RedactionTest {
    /** Secrets as a hostile environment sets them: token letters mixed with what a header cannot carry. */
    @Provide
    Arbitrary<String> secrets() {
        Arbitrary<Character> c = Arbitraries.oneOf(Arbitraries.chars().alpha().numeric(),
                Arbitraries.of('\n', '\r', '\u200b', '\u007f', '\u00e9', '\u4e2d', ' ', '\'', '"', '[', ']', '\u0000', '\u001b'),
                Arbitraries.of('r', 'e', 'd', 'a', 'c', 't', '[', ']'));
        return c.list().ofMinSize(Redaction.MIN_LENGTH).ofMaxSize(80).map(l -> {
            StringBuilder sb = new StringBuilder();
            l.forEach(sb::append);
            return sb.toString();
        }).filter(s -> s.strip().length() >= Redaction.MIN_LENGTH);
    }

    @Provide
    Arbitrary<String> around() {
        return Arbitraries.strings().withCharRange(' ', '~').withChars('\n', '\u200b', '[', ']').ofMaxLength(700);
    }

    @Property(tries = 400)
    void aRegisteredSecretIsInNoMessage(@ForAll("secrets") String secret, @ForAll("around") String before,
            @ForAll("around") String after) {
        Redaction.secret(secret);
        try {
            shownNowhere(secret, before + secret + after + secret.strip());
        } finally {
            Redaction.forget(secret);
        }
    }

    private static void shownNowhere(String secret, String text) {
        for (String shown : new String[] {new UserException(text).getMessage(), UserException.quote(text),
                Redaction.stackTrace(new IllegalStateException(text, new RuntimeException(secret))),
                Redaction.describe(new IllegalArgumentException(text))}) {
            assertFalse(shown.contains(secret.strip()), () -> "secret shown: " + shown);
            assertFalse(shown.contains(printable(secret.strip())), () -> "secret shown escaped: " + shown);
        }
    }

    /** A secret as {@link UserException} would escape it, were it not masked first. */
    private static String printable(String s) {
        return UserException.printable(s);
    }

    @Test
    void otherTextIsLeftAsItWas() {
        Redaction.secret("hf_abcdefghijklmnop");
        Redaction.secret("ab"); // too short to be told from ordinary text
        try {
            assertEquals("token [redacted] refused; x", Redaction.apply("token hf_abcdefghijklmnop refused; x"));
            assertEquals("no secret here", Redaction.apply("no secret here"));
            assertTrue(Redaction.apply("about").contains("ab"));
        } finally {
            Redaction.forget("hf_abcdefghijklmnop");
        }
    }
}
