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
 * serve's request bodies, generated and mutated as JSON and as bytes: {@link Requests#parse}
 * answers items or a {@code BadRequest} with a client status (400, 404, 413) and a one-line message of
 * sane length; never another exception (which would be a 500), never more items than the limit.
 */
class RequestPropertiesTest {
    static final Set<String> SERVED = Set.of("sst2", "qa");
    static final int MAX_ITEMS = 8;
    static final int MAX_TEXT = 200;

    @Provide
    Arbitrary<byte[]> bodies() {
        String one = "{\"task\": \"sst2\", \"text\": \"a fine film\", \"id\": 7}";
        String many = "{\"items\": [{\"task\": \"sst2\", \"text\": \"fine\"}, {\"task\": \"qa\", \"text\": \"why?\", \"id\": \"x\"}]}";
        try {
            return Arbitraries.oneOf(Hostile.json(Json.MAPPER.readTree(one)), Hostile.json(Json.MAPPER.readTree(many)),
                    Hostile.bytes(many.getBytes(StandardCharsets.UTF_8)));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
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
            List<Requests.Item> items = Requests.parse(body, SERVED, MAX_ITEMS, MAX_TEXT);
            assertTrue(!items.isEmpty() && items.size() <= MAX_ITEMS);
            for (Requests.Item it : items) {
                assertTrue(SERVED.contains(it.task()) && !it.text().isBlank() && it.text().length() <= MAX_TEXT);
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
