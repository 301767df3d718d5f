package io.softprompt.sweep;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sweep: training flags shared by every run ({@code base}) and a grid of flags to vary
 * ({@code grid}, each key a list of values); the runs are the grid's cartesian product, in a fixed
 * order (the last key varies fastest). Keys are {@code train} flags as in a --config file.
 *
 * <pre>{"name": "sst2-length", "base": {"task": "sst2", "steps": 1000},
 *  "grid": {"tokens": [1, 5, 20, 100], "init": ["random", "vocab", "labels"], "seed": [1, 2, 3]}}</pre>
 *
 * A grid value may be an object that sets several keys together, when one value needs another:
 * {@code "init": ["random", {"init": "text", "init_text": "review : sentiment :"}]}; the run's folder
 * name uses the value of the grid's own key inside it ({@code init-text}).
 */
public record SweepPlan(String name, ObjectNode base, LinkedHashMap<String, List<JsonNode>> grid, List<Run> runs) {
    /** Flags the sweep sets itself. */
    static final Set<String> RESERVED = Set.of("output", "run_dir", "resume", "config", "force");

    /** One run: its index in the full grid, its folder name and its flags (base plus grid point). */
    public record Run(int index, String id, Map<String, JsonNode> point, ObjectNode config) {}

    public static SweepPlan load(Path file) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(file.toFile());
        } catch (NoSuchFileException | FileNotFoundException e) {
            throw new UserException("--config " + file + ": file not found");
        } catch (JsonProcessingException e) {
            throw new UserException(file + ": " + Json.describe(e));
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + AtomicFiles.reason(e));
        }
        if (root == null || !root.isObject()) {
            throw new UserException(file + ": must hold a JSON object with \"base\" and \"grid\"");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!Set.of("name", "description", "base", "grid").contains(k)) {
                throw new UserException(file + ": unknown key '" + k + "' (known: name, description, base, grid)");
            }
        }
        ObjectNode base = root.has("base") ? (ObjectNode) requireObject(file, root.get("base"), "base") : Json.MAPPER.createObjectNode();
        JsonNode g = requireObject(file, root.get("grid"), "grid");
        LinkedHashMap<String, List<JsonNode>> grid = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = g.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isArray() || e.getValue().isEmpty()) {
                throw new UserException(file + ": grid key '" + e.getKey() + "' must be a non-empty list of values");
            }
            List<JsonNode> values = new ArrayList<>();
            e.getValue().forEach(values::add);
            grid.put(e.getKey(), values);
        }
        for (String k : concat(base, grid)) {
            if (RESERVED.contains(k)) {
                throw new UserException(file + ": key '" + k + "' is set by the sweep itself (each run gets its own folder)");
            }
            if (base.has(k) && grid.containsKey(k)) {
                throw new UserException(file + ": key '" + k + "' is in both base and grid");
            }
        }
        String name = root.path("name").asText(file.getFileName().toString().replaceFirst("\\.json$", ""));
        return new SweepPlan(name, base, grid, expand(base, grid));
    }

    private static List<String> concat(ObjectNode base, Map<String, List<JsonNode>> grid) {
        List<String> keys = new ArrayList<>();
        base.fieldNames().forEachRemaining(keys::add);
        keys.addAll(grid.keySet());
        return keys;
    }

    private static JsonNode requireObject(Path file, JsonNode n, String key) {
        if (n == null || !n.isObject()) {
            throw new UserException(file + ": \"" + key + "\" must be a JSON object");
        }
        return n;
    }

    static List<Run> expand(ObjectNode base, LinkedHashMap<String, List<JsonNode>> grid) {
        List<String> keys = new ArrayList<>(grid.keySet());
        int total = 1;
        for (List<JsonNode> v : grid.values()) {
            total *= v.size();
        }
        List<Run> runs = new ArrayList<>(total);
        for (int i = 0; i < total; i++) {
            Map<String, JsonNode> point = new LinkedHashMap<>();
            int rest = i;
            for (int k = keys.size() - 1; k >= 0; k--) {
                List<JsonNode> vals = grid.get(keys.get(k));
                point.put(keys.get(k), vals.get(rest % vals.size()));
                rest /= vals.size();
            }
            Map<String, JsonNode> ordered = new LinkedHashMap<>();
            for (String k : keys) {
                ordered.put(k, point.get(k));
            }
            ObjectNode cfg = base.deepCopy();
            ordered.forEach((k, v) -> {
                if (v.isObject()) {
                    cfg.setAll((ObjectNode) v); // a value that sets several keys together
                } else {
                    cfg.set(k, v);
                }
            });
            runs.add(new Run(i, id(ordered), ordered, cfg));
        }
        return runs;
    }

    /** The runs again after the base changed (--set). */
    public static List<Run> load(SweepPlan plan, ObjectNode base) {
        return expand(base, plan.grid());
    }

    /** Folder name of a grid point: key-value pairs joined by '_', unsafe characters as '-'. */
    static String id(Map<String, JsonNode> point) {
        if (point.isEmpty()) {
            return "run";
        }
        StringBuilder sb = new StringBuilder();
        for (var e : point.entrySet()) {
            if (sb.length() > 0) {
                sb.append('_');
            }
            JsonNode value = e.getValue().isObject() && e.getValue().has(e.getKey()) ? e.getValue().get(e.getKey()) : e.getValue();
            String v = value.isTextual() ? value.asText() : value.toString();
            sb.append(e.getKey()).append('-').append(v.replaceAll("[^A-Za-z0-9.]+", "-"));
        }
        return sb.toString();
    }

    /** The runs of shard i of n (1-based): index mod n = i - 1. */
    public List<Run> shard(int i, int n) {
        return runs.stream().filter(r -> r.index() % n == i - 1).toList();
    }
}
