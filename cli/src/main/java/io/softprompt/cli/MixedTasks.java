package io.softprompt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.data.DataSource;
import io.softprompt.data.Lines;
import io.softprompt.infer.MultiTask;
import io.softprompt.scoring.Decoding;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.PrintWriter;
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

    /**
     * One input row: its id (given or its line number), its task's member index (-1: a task no prompt
     * was given for), its text, and for such a row the error its output line carries.
     */
    record Row(Object id, int member, String text, int line, String task, String error) {}

    /** The exit code when some rows could not be answered (their lines carry "error"; the rest are answered). */
    static final int EXIT_SOME_ROWS_FAILED = 4;

    static List<Row> read(Path file, Map<String, Integer> members) {
        List<Row> rows = new ArrayList<>();
        try (Lines r = DataSource.file(file).lines()) {
            String line;
            int n = 0;
            while ((line = r.next()) != null) {
                n = r.number();
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
                Integer m = members.get(task.asText());
                JsonNode id = j.get("id");
                Object idValue = id == null ? n : id.isNumber() ? id.numberValue() : id.asText();
                if (text == null || !text.isTextual() || text.asText().isBlank()) { // fails alone, as an unknown task does
                    rows.add(new Row(idValue, -1, "", n, task.asText(), "missing or empty \"text\""));
                    continue;
                }
                if (m == null) {
                    // a row of a task no prompt was given for fails alone, as serve (404) and Spark (its error column) do
                    rows.add(new Row(idValue, -1, text.asText(), n, task.asText(), "unknown task "
                            + UserException.quote(task.asText()) + " (prompts given: " + String.join(", ", members.keySet()) + ")"));
                    continue;
                }
                rows.add(new Row(idValue, m, text.asText(), n, task.asText(), null));
            }
        } catch (NoSuchFileException e) {
            throw new UserException("--input " + file + ": file not found");
        } catch (IOException e) {
            throw new UserException("--input " + file + ": cannot read: " + AtomicFiles.reason(e));
        }
        if (rows.isEmpty()) {
            throw new UserException("--input " + file + ": no rows");
        }
        return rows;
    }

    static int run(PromptOptions promptOptions, PromptOptions.Fit fit, ModelOptions modelOptions, Path input, int batchSize,
            int tokenBudget, Decoding decoding, boolean prefixCache, PrintWriter out, PrintWriter err) {
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err, fit)) {
            Map<String, Integer> byName = new LinkedHashMap<>();
            for (int k = 0; k < s.members().size(); k++) {
                byName.put(s.members().get(k).name(), k);
            }
            List<Row> rows = read(input, byName);
            List<MultiTask.Row> in = new ArrayList<>(rows.size());
            for (Row r : rows) {
                if (r.error() == null) {
                    in.add(new MultiTask.Row(r.member(), r.text()));
                }
            }
            List<MultiTask.Answer> answers = in.isEmpty() ? List.of() : MultiTask.answer(s.model(), s.members(), in,
                    new MultiTask.Batching(batchSize, tokenBudget, prefixCache, decoding));
            int failed = 0;
            int next = 0;
            for (Row row : rows) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("id", row.id());
                if (row.error() != null) {
                    j.put("task", row.task());
                    j.put("error", row.error());
                    out.println(Json.write(j));
                    failed++;
                    continue;
                }
                MultiTask.Answer a = answers.get(next++);
                j.put("task", a.task());
                if (a.generated() != null) {
                    j.put("generated", a.generated());
                } else {
                    j.put("label", a.label());
                    j.put("word", a.word());
                    j.put("probabilities", a.probabilities());
                }
                out.println(Json.write(j));
            }
            out.flush();
            if (failed > 0) {
                err.printf("%d of %d rows of %s could not be answered (their lines carry \"error\")%n", failed, rows.size(),
                        input);
                err.flush();
                return EXIT_SOME_ROWS_FAILED;
            }
        }
        return 0;
    }
}
