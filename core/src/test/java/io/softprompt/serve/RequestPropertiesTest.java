package io.softprompt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import io.softprompt.Hostile;

/**
 * serve's request bodies (classifying and generating items), generated and mutated as JSON and as
 * bytes: {@link Requests#read}
 * answers items or a {@code BadRequest} with a client status (400, 404, 413) and a one-line message of
 * sane length; never another exception (which would be a 500), never more items than the limit.
 */
class RequestPropertiesTest {
    static final Set<String> SERVED = Set.of("sst2", "qa");
    static final int MAX_ITEMS = 8;
    static final int MAX_TEXT = 200;
    /** qa is a text-to-text task here: its items may carry generation settings. */
    static final Set<String> GENERATING = Set.of("qa");
    static final int MAX_NEW = 16;

    @Provide
    Arbitrary<byte[]> bodies() {
        String one = "{\"task\": \"sst2\", \"text\": \"a fine film\", \"id\": 7}";
        String many = "{\"items\": [{\"task\": \"sst2\", \"text\": \"fine\"}, {\"task\": \"qa\", \"text\": \"why?\", \"id\": \"x\"}]}";
        String gen = "{\"items\": [{\"task\": \"qa\", \"text\": \"why?\", \"max_new_tokens\": 5, \"do_sample\": true, "
                + "\"temperature\": 0.7, \"top_k\": 5, \"top_p\": 0.9, \"seed\": 3, \"stop\": [\".\", \"?\"]}, "
                + "{\"task\": \"qa\", \"text\": \"how?\", \"stop\": \"!\"}]}";
        try {
            return Arbitraries.oneOf(Hostile.json(Json.MAPPER.readTree(one)), Hostile.json(Json.MAPPER.readTree(many)),
                    Hostile.bytes(many.getBytes(StandardCharsets.UTF_8)), Hostile.json(Json.MAPPER.readTree(gen)),
                    Hostile.bytes(gen.getBytes(StandardCharsets.UTF_8)));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Example
    void oneServedPromptNeedsNoTaskField() {
        // issue 35: serve needed "task" even when it served one prompt
        byte[] body = "{\"text\": \"fine\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals("mood", Requests.read(body, java.util.Set.of("mood"), java.util.Set.of(), 4, 100, 8).items().get(0).task());
        PredictServer.BadRequest two = org.junit.jupiter.api.Assertions.assertThrows(PredictServer.BadRequest.class,
                () -> Requests.read(body, new java.util.TreeSet<>(java.util.Set.of("a", "b")), java.util.Set.of(), 4, 100, 8));
        org.junit.jupiter.api.Assertions.assertTrue(two.getMessage().contains("missing \"task\""), two.getMessage());
    }

    @Example
    void theSeedsAreValid() {
        List<Requests.Item> items = Requests.parse(("{\"items\": [{\"task\": \"sst2\", \"text\": \"fine\"}, "
                + "{\"task\": \"qa\", \"text\": \"why?\", \"id\": \"x\"}]}").getBytes(StandardCharsets.UTF_8), SERVED, MAX_ITEMS, MAX_TEXT);
        assertEquals(2, items.size());
        assertEquals("x", items.get(1).id());
    }

    @Property(tries = 3000)
    void requestBodiesAreItemsOrAClientError(@ForAll("bodies") byte[] body) {
        try {
            List<Requests.Item> items = Requests.read(body, SERVED, GENERATING, MAX_ITEMS, MAX_TEXT, MAX_NEW).items();
            assertTrue(!items.isEmpty() && items.size() <= MAX_ITEMS);
            for (Requests.Item it : items) {
                assertTrue(SERVED.contains(it.task()) && !it.text().isBlank() && it.text().length() <= MAX_TEXT);
                assertEquals(GENERATING.contains(it.task()), it.decoding() != null, "text-to-text items, and only they, generate");
                if (it.decoding() != null) {
                    assertTrue(it.decoding().maxNewTokens() <= MAX_NEW, "the server's cap holds");
                }
            }
            Statistics.label("answer").collect("items");
        } catch (PredictServer.BadRequest e) {
            assertTrue(e.status == 400 || e.status == 404 || e.status == 413, "status " + e.status);
            String m = e.getMessage();
            assertTrue(m != null && !m.contains("\n") && m.length() <= UserException.MAX_LENGTH, m);
            Statistics.label("answer").collect("HTTP " + e.status);
        }
    }
}
