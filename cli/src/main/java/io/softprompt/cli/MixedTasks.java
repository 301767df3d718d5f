package io.softprompt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.infer.MultiTask;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * infer --prompt A=a.sp --prompt B=b.sp --input rows.jsonl: rows of several tasks, each with its own
 * prompt, template and verbaliser, scored together in shared batches; one JSON line per row, in input
 * order.
 */
final class MixedTasks {
    private MixedTasks() {}

    /** One input row: its id (given or its line number), its task's member index, its text. */
    record Row(Object id, int member, String text, int line) {}

    static List<Row> read(Path file, Map<String, Integer> members) {
        List<Row> rows = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode j;
                try {
                    j = Json.MAPPER.readTree(line);
                } catch (IOException e) {
                    throw new UserException(file + " line " + n + ": not valid JSON");
                }
                if (j == null || !j.isObject()) {
                    throw new UserException(file + " line " + n + ": expected a JSON object {\"task\": ..., \"text\": ...}");
                }
                JsonNode task = j.get("task");
                JsonNode text = j.get("text");
                if (task == null || !task.isTextual()) {
                    throw new UserException(file + " line " + n + ": missing \"task\" (one of " + members.keySet() + ")");
                }
                if (text == null || !text.isTextual() || text.asText().isBlank()) {
                    throw new UserException(file + " line " + n + ": missing or empty \"text\"");
                }
                Integer m = members.get(task.asText());
                if (m == null) {
                    throw new UserException(file + " line " + n + ": unknown task '" + task.asText() + "' (prompts given: "
                            + members.keySet() + ")");
                }
                JsonNode id = j.get("id");
                Object idValue = id == null ? n : id.isNumber() ? id.numberValue() : id.asText();
                rows.add(new Row(idValue, m, text.asText(), n));
            }
        } catch (NoSuchFileException e) {
            throw new UserException("--input " + file + ": file not found");
        } catch (IOException e) {
            throw new UserException("--input " + file + ": cannot read: " + e.getMessage());
        }
        if (rows.isEmpty()) {
            throw new UserException("--input " + file + ": no rows");
        }
        return rows;
    }

    static int run(PromptOptions promptOptions, PromptOptions.Fit fit, ModelOptions modelOptions, Path input, int batchSize,
            int tokenBudget, int maxNewTokens, boolean prefixCache, PrintWriter out, PrintWriter err) {
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err, fit)) {
            Map<String, Integer> byName = new LinkedHashMap<>();
            for (int k = 0; k < s.members().size(); k++) {
                byName.put(s.members().get(k).name(), k);
            }
            List<Row> rows = read(input, byName);
            List<MultiTask.Row> in = new ArrayList<>(rows.size());
            for (Row r : rows) {
                in.add(new MultiTask.Row(r.member(), r.text()));
            }
            List<MultiTask.Answer> answers = MultiTask.answer(s.model(), s.members(), in,
                    new MultiTask.Batching(batchSize, tokenBudget, prefixCache, maxNewTokens));
            for (int i = 0; i < rows.size(); i++) {
                MultiTask.Answer a = answers.get(i);
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("id", rows.get(i).id());
                j.put("task", a.task());
                if (a.generated() != null) {
                    j.put("generated", a.generated());
                } else {
                    j.put("label", a.label());
                    j.put("probabilities", a.probabilities());
                }
                out.println(Json.write(j));
            }
            out.flush();
        }
        return 0;
    }
}
