package io.softprompt.sweep;

import static io.softprompt.sweep.SweepReport.IDENTITY;
import static io.softprompt.sweep.SweepReport.NOT_GROUPING;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.sweep.SweepReport.Row;
import io.softprompt.sweep.SweepReport.Setting;
import io.softprompt.train.RunDir;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The runs a report reads: every run folder under a folder (config, outcome, logged points), split
 * into settings by what they were trained on and grouped by the keys that vary; and the small
 * formatting helpers the report's tables and plots share.
 */
final class SweepRuns {
    private SweepRuns() {}

    /** Every run folder (holding config.json) directly under runs, sorted by name. */
    public static List<Row> scan(Path runs) throws IOException {
        if (!Files.isDirectory(runs)) {
            throw new UserException(runs + ": not a folder");
        }
        List<Path> dirs;
        try (Stream<Path> s = Files.list(runs)) {
            dirs = s.filter(d -> Files.isRegularFile(d.resolve(RunDir.CONFIG))).sorted().toList();
        }
        if (dirs.isEmpty()) {
            throw new UserException(runs + ": holds no run folders (none has " + RunDir.CONFIG + ")");
        }
        Set<String> sweepGrid = new LinkedHashSet<>();
        Path sweep = runs.resolve("sweep.json");
        if (Files.isRegularFile(sweep)) {
            Json.MAPPER.readTree(sweep.toFile()).path("grid").fieldNames().forEachRemaining(sweepGrid::add);
        }
        List<Row> rows = new ArrayList<>();
        for (Path d : dirs) {
            JsonNode cfg = Json.MAPPER.readTree(d.resolve(RunDir.CONFIG).toFile());
            JsonNode fin = Files.isRegularFile(d.resolve(RunDir.FINAL)) ? Json.MAPPER.readTree(d.resolve(RunDir.FINAL).toFile())
                    : null;
            List<double[]> losses = new ArrayList<>();
            List<double[]> dev = new ArrayList<>();
            if (fin != null && fin.hasNonNull("initial_dev_accuracy")) {
                dev.add(new double[] {0, fin.get("initial_dev_accuracy").asDouble()});
            }
            if (Files.isRegularFile(d.resolve(RunDir.METRICS))) {
                for (String l : Files.readAllLines(d.resolve(RunDir.METRICS))) {
                    JsonNode n;
                    try {
                        n = Json.MAPPER.readTree(l);
                    } catch (IOException torn) {
                        continue; // a line cut by a kill
                    }
                    if (n.hasNonNull("loss")) {
                        losses.add(new double[] {n.get("step").asDouble(), n.get("loss").asDouble()});
                    }
                    if (n.has("dev") && n.get("dev").hasNonNull("accuracy") && !(n.get("step").asInt() == 0 && !dev.isEmpty()
                            && dev.get(0)[0] == 0)) { // step 0 is final.json's initial figure too
                        dev.add(new double[] {n.get("step").asDouble(), n.get("dev").get("accuracy").asDouble()});
                    }
                }
            }
            Set<String> grid = new LinkedHashSet<>(sweepGrid);
            Path record = d.resolve(SweepRunner.RUN_RECORD);
            if (Files.isRegularFile(record)) {
                Json.MAPPER.readTree(record.toFile()).path("grid").forEach(k -> grid.add(k.asText()));
            }
            rows.add(new Row(d.getFileName().toString(), cfg, fin, losses, dev, grid, Map.of()));
        }
        return rows;
    }

    /** Runs split by what they were trained on, each setting's grouping keys and groups. */
    public static List<Setting> settings(List<Row> rows) {
        Map<String, List<Row>> bySetting = new LinkedHashMap<>();
        for (Row r : rows) {
            bySetting.computeIfAbsent(r.setting(), k -> new ArrayList<>()).add(r);
        }
        List<Setting> out = new ArrayList<>();
        for (Map.Entry<String, List<Row>> e : bySetting.entrySet()) {
            List<Row> rs = e.getValue();
            List<String> keys = groupingKeys(rs);
            Map<String, List<Row>> groups = new TreeMap<>(SweepRuns::naturalCompare);
            List<Row> withPoints = new ArrayList<>();
            for (Row r : rs) {
                Map<String, JsonNode> point = new LinkedHashMap<>();
                for (String k : keys) {
                    point.put(k, r.config().get(k));
                }
                Row p = r.at(point);
                withPoints.add(p);
                groups.computeIfAbsent(groupName(p, keys), g -> new ArrayList<>()).add(p);
            }
            out.add(new Setting(label(rs.get(0)), withPoints, keys, groups));
        }
        out.sort((a, b) -> Integer.compare(b.rows().size(), a.rows().size())); // the main body of runs first
        return out;
    }

    /**
     * The keys that group a setting's runs: grid keys of a sweep when any run has a sweep record,
     * else every training key; in both cases only those whose values differ between the runs, never
     * the setting's identity, paths, bookkeeping, the seed, or a warmup that is just 10% of the steps.
     */
    static List<String> groupingKeys(List<Row> rows) {
        Set<String> grid = new LinkedHashSet<>();
        rows.forEach(r -> grid.addAll(r.gridKeys()));
        Set<String> candidates = new LinkedHashSet<>();
        if (!grid.isEmpty()) {
            candidates.addAll(grid);
        } else {
            rows.forEach(r -> r.config().fieldNames().forEachRemaining(candidates::add));
        }
        candidates.removeAll(IDENTITY);
        candidates.removeAll(NOT_GROUPING);
        if (grid.isEmpty() && rows.stream().allMatch(r -> r.config().path("warmup").asInt(-1)
                == r.config().path("steps").asInt(-2) / 10)) {
            candidates.remove("warmup"); // derived from steps, not chosen
        }
        List<String> keys = new ArrayList<>();
        for (String k : candidates) {
            Set<String> values = new LinkedHashSet<>();
            rows.forEach(r -> values.add(Objects.toString(r.config().get(k))));
            if (values.size() > 1) {
                keys.add(k);
            }
        }
        if (grid.isEmpty()) {
            // a key the others determine is derived (max_length from tokens, warmup from steps): it groups nothing
            for (int i = keys.size() - 1; i >= 0; i--) {
                List<String> others = new ArrayList<>(keys);
                others.remove(i);
                if (!others.isEmpty() && combinations(rows, others) == combinations(rows, keys)) {
                    keys.remove(i);
                }
            }
        }
        return keys;
    }

    private static int combinations(List<Row> rows, List<String> keys) {
        Set<String> seen = new LinkedHashSet<>();
        for (Row r : rows) {
            StringBuilder sb = new StringBuilder();
            keys.forEach(k -> sb.append(Objects.toString(r.config().get(k))).append('\u0000'));
            seen.add(sb.toString());
        }
        return seen.size();
    }

    private static String label(Row r) {
        List<String> parts = new ArrayList<>();
        for (String k : IDENTITY) {
            String v = text(r.config().get(k));
            parts.add(k + " " + (v.isEmpty() ? "(built-in)" : shortName(v)));
        }
        return String.join(", ", parts);
    }

    /**
     * A file by its folder and name ("sst2/train.tsv": two train.tsv files of different data sets stay
     * apart; the stem alone said "train" for both), a name (a hub id, a built-in task) as it is.
     */
    static String shortName(String v) {
        if (v == null || v.isEmpty()) {
            return "";
        }
        if (!v.startsWith("/") && !v.contains("\\") && !v.startsWith(".")) {
            return v; // a name, or a path already relative
        }
        String[] parts = v.replace('\\', '/').split("/+");
        int n = parts.length;
        return n >= 2 && !parts[n - 2].isEmpty() && !parts[n - 2].equals(".") ? parts[n - 2] + "/" + parts[n - 1] : parts[n - 1];
    }

    static String groupName(Row r, List<String> keys) {
        if (keys.isEmpty()) {
            return "all";
        }
        StringBuilder sb = new StringBuilder();
        for (String k : keys) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(k).append('=').append(text(r.point().get(k)));
        }
        return sb.toString();
    }

    static String text(JsonNode n) {
        return n == null || n.isNull() ? "" : n.isTextual() ? n.asText() : n.toString();
    }

    static String fmt(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    static String csvCell(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    /** Orders "tokens=5" before "tokens=20". */
    static int naturalCompare(String a, String b) {
        Iterator<String> x = List.of(a.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)")).iterator();
        Iterator<String> y = List.of(b.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)")).iterator();
        while (x.hasNext() && y.hasNext()) {
            String p = x.next();
            String q = y.next();
            int c = !p.isEmpty() && !q.isEmpty() && p.chars().allMatch(Character::isDigit) && q.chars().allMatch(Character::isDigit)
                    ? new BigInteger(p).compareTo(new BigInteger(q)) : p.compareTo(q);
            if (c != 0) {
                return c;
            }
        }
        return Boolean.compare(x.hasNext(), y.hasNext());
    }
}
