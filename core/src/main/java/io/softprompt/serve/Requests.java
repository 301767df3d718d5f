package io.softprompt.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.scoring.Decoding;
import io.softprompt.util.Json;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** serve's predict requests, parsed into items (records), or refused with a client status and one line. */
final class Requests {
    private Requests() {}

    /**
     * One item of a predict request: a served task, its text, the caller's id (or null), and for a
     * text-to-text task how to generate (else null).
     */
    record Item(String task, String text, Object id, Decoding decoding) {}

    /** The generation fields an item of a text-to-text task may set (transformers' names). */
    static final Set<String> GENERATION = Keys.keys(Decoding.class);

    /** A parsed request: its items, and whether it came in the batch form {"items": [...]}. */
    record Request(List<Item> items, boolean batch) {}

    /** The items of a request body (see {@link #read}). */
    static List<Item> parse(byte[] body, Set<String> served, int maxItems, int maxTextChars) {
        return read(body, served, Set.of(), maxItems, maxTextChars, 1).items();
    }

    /**
     * A predict request's body as items, or the {@code BadRequest} (status and one line) that answers
     * it: {"task", "text", "id"?} or {"items": [...]}, tasks among {@code served} ("task" may be left out
     * when one prompt is served), limits as set.
     * Nothing of the body is echoed but a task name, cut to a sane length. Items of the tasks in
     * {@code textToText} generate, with the fields of {@link #GENERATION} (max_new_tokens at most
     * {@code maxNewTokens}, its default); other items may not set them.
     */
    static Request read(byte[] body, Set<String> served, Set<String> textToText, int maxItems, int maxTextChars,
            int maxNewTokens) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new PredictServer.BadRequest(400, "malformed JSON: " + Json.describe(e));
        } catch (java.io.IOException e) {
            throw new PredictServer.BadRequest(400, "malformed JSON");
        }
        if (root == null || !root.isObject()) {
            throw new PredictServer.BadRequest(400, "expected a JSON object: {\"task\": ..., \"text\": ...} or {\"items\": [...]}");
        }
        boolean many = root.has("items");
        List<JsonNode> raw = new ArrayList<>();
        if (many) {
            if (!root.get("items").isArray()) {
                throw new PredictServer.BadRequest(400, "\"items\" must be an array");
            }
            if (root.get("items").size() > maxItems) {
                throw new PredictServer.BadRequest(413, root.get("items").size() + " items; at most " + maxItems + " per request");
            }
            root.get("items").forEach(raw::add);
            if (raw.isEmpty()) {
                throw new PredictServer.BadRequest(400, "\"items\" is empty");
            }
        } else {
            raw.add(root);
        }
        List<Item> items = new ArrayList<>(raw.size());
        for (int i = 0; i < raw.size(); i++) {
            JsonNode it = raw.get(i);
            String where = many ? "items[" + i + "]: " : "";
            if (!it.isObject()) {
                throw new PredictServer.BadRequest(400, where + "expected an object {\"task\": ..., \"text\": ...}");
            }
            JsonNode task = it.get("task");
            JsonNode text = it.get("text");
            if (task == null && served.size() == 1) { // one prompt served: "task" may be left out
                task = com.fasterxml.jackson.databind.node.TextNode.valueOf(served.iterator().next());
            }
            if (task == null || !task.isTextual()) {
                throw new PredictServer.BadRequest(400, where + "missing \"task\" (served: " + served + ")");
            }
            if (!served.contains(task.asText())) {
                throw new PredictServer.BadRequest(404, where + "unknown task " + UserException.quote(task.asText()) + " (served: " + served + ")");
            }
            if (text == null || !text.isTextual() || text.asText().isBlank()) {
                throw new PredictServer.BadRequest(400, where + "missing or empty \"text\"");
            }
            if (text.asText().length() > maxTextChars) {
                throw new PredictServer.BadRequest(413, where + "text of " + text.asText().length() + " characters; at most " + maxTextChars);
            }
            JsonNode id = it.get("id");
            Decoding decoding = null;
            if (textToText.contains(task.asText())) {
                decoding = decoding(it, where, maxNewTokens);
            } else {
                for (String f : GENERATION) {
                    if (it.has(f)) {
                        throw new PredictServer.BadRequest(400, where + "\"" + f + "\" applies to text-to-text tasks; "
                                + UserException.quote(task.asText()) + " classifies");
                    }
                }
            }
            items.add(new Item(task.asText(), text.asText(), id == null ? null : id.isNumber() ? id.numberValue() : id.asText(),
                    decoding));
        }
        return new Request(items, many);
    }

    /** An item's generation settings: greedy and maxNewTokens unless it says otherwise; a fresh seed when it samples without one. */
    private static Decoding decoding(JsonNode it, String where, int maxNewTokens) {
        int n = maxNewTokens;
        JsonNode v = it.get("max_new_tokens");
        if (v != null) {
            if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0 || v.asInt() > maxNewTokens) {
                throw new PredictServer.BadRequest(400, where + "\"max_new_tokens\" must be a whole number 0.." + maxNewTokens);
            }
            n = v.asInt();
        }
        boolean sample = false;
        v = it.get("do_sample");
        if (v != null) {
            if (!v.isBoolean()) {
                throw new PredictServer.BadRequest(400, where + "\"do_sample\" must be true or false");
            }
            sample = v.asBoolean();
        }
        double temperature = number(it, "temperature", Decoding.DEFAULTS.temperature(), where);
        double topP = number(it, "top_p", Decoding.DEFAULTS.topP(), where);
        int topK = Decoding.DEFAULTS.topK();
        v = it.get("top_k");
        if (v != null) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new PredictServer.BadRequest(400, where + "\"top_k\" must be a whole number");
            }
            topK = v.asInt();
        }
        long seed;
        v = it.get("seed");
        if (v != null) {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new PredictServer.BadRequest(400, where + "\"seed\" must be a whole number");
            }
            seed = v.asLong();
        } else {
            seed = sample ? new SecureRandom().nextLong() : 0;
        }
        if (!sample && (it.has("temperature") || it.has("top_k") || it.has("top_p") || it.has("seed"))) {
            throw new PredictServer.BadRequest(400, where + "\"temperature\", \"top_k\", \"top_p\" and \"seed\" apply to "
                    + "sampling: add \"do_sample\": true");
        }
        List<String> stop = new ArrayList<>();
        v = it.get("stop");
        if (v != null) {
            if (v.isTextual()) {
                stop.add(v.asText());
            } else if (v.isArray() && v.size() <= Decoding.MAX_STOPS) {
                for (JsonNode s : v) {
                    if (!s.isTextual()) {
                        throw new PredictServer.BadRequest(400, where + "\"stop\" must be a string or an array of strings");
                    }
                    stop.add(s.asText());
                }
            } else {
                throw new PredictServer.BadRequest(400, where + "\"stop\" must be a string or an array of at most "
                        + Decoding.MAX_STOPS + " strings");
            }
        }
        try {
            return new Decoding(n, sample, temperature, topK, topP, seed, stop);
        } catch (UserException e) {
            throw new PredictServer.BadRequest(400, where + e.getMessage());
        }
    }

    private static double number(JsonNode it, String field, double otherwise, String where) {
        JsonNode v = it.get(field);
        if (v == null) {
            return otherwise;
        }
        if (!v.isNumber()) {
            throw new PredictServer.BadRequest(400, where + "\"" + field + "\" must be a number");
        }
        return v.asDouble();
    }
}
