package io.softprompt.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** One-line messages: settings named by key for the library, by flag for the command line; values quoted and cut. */
class UserExceptionTest {
    @Test
    void settingsAreNamedByKeyInTheLibraryAndByFlagOnTheCommandLine() {
        UserException e = new UserException("x.sp: 30 tokens exceed the model's positions; lower " + UserException.key("max_length")
                + " or " + UserException.key("tokens"));
        assertEquals("x.sp: 30 tokens exceed the model's positions; lower max_length or tokens", e.getMessage());
        assertEquals("x.sp: 30 tokens exceed the model's positions; lower --max-length or --tokens",
                e.message(k -> "--" + k.replace('_', '-')));
        UserException wrapped = new UserException("run 3: " + e.raw());
        assertEquals("run 3: x.sp: 30 tokens exceed the model's positions; lower --max-length or --tokens",
                wrapped.message(k -> "--" + k.replace('_', '-')), "a wrapped message keeps its keys");
    }

    @Test
    void messagesAreOneLineOfSaneLengthAndQuotedValuesAreCut() {
        UserException e = new UserException("a\nb\r\nc\u001b[31m" + "x".repeat(2000));
        assertTrue(!e.getMessage().contains("\n") && !e.getMessage().contains("\u001b"), e.getMessage());
        assertEquals(UserException.MAX_LENGTH, e.getMessage().length());
        String q = UserException.quote("y".repeat(100));
        assertTrue(q.startsWith("'" + "y".repeat(60) + "'") && q.endsWith("(100 characters)"), q);
        assertEquals("'tab\\u0009'", UserException.quote("tab\t"));
    }
}
