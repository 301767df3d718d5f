package io.softprompt.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;

/** serve's predict requests, parsed into items (records), or refused with a client status and one line. */
final class Requests {
    private Requests() {}

    /** One item of a predict request: a served task, its text, the caller's id (or null). */
    record Item(String task, String text, Object id) {}

    /** A parsed request: its items, and whether it came in the batch form {"items": [...]}. */
    record Request(List<Item> items, boolean batch) {}

    /** The items of a request body (see {@link #read}). */
    static List<Item> parse(byte[] body, java.util.Set<String> served, int maxItems, int maxTextChars) {
        return read(body, served, maxItems, maxTextChars).items();
    }

    /**
     * A predict request's body as items, or the {@code BadRequest} (status and one line) that answers
     * it: {"task", "text", "id"?} or {"items": [...]}, tasks among {@code served}, limits as set.
     * Nothing of the body is echoed but a task name, cut to a sane length.
     */
    static Request read(byte[] body, java.util.Set<String> served, int maxItems, int maxTextChars) {
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
            items.add(new Item(task.asText(), text.asText(), id == null ? null : id.isNumber() ? id.numberValue() : id.asText()));
        }
        return new Request(items, many);
    }
}
