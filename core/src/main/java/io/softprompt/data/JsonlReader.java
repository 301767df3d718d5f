package io.softprompt.data;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.Json;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** JSON lines: one object per line with the task's text column and its label or target. */
final class JsonlReader {
    private JsonlReader() {}

    private static String kind(JsonNode n) {
        return n.isNull() ? "null" : n.isNumber() ? "a number" : n.isBoolean() ? "true/false" : n.isArray() ? "a list"
                : n.isObject() ? "an object" : n.getNodeType().toString().toLowerCase(Locale.ROOT);
    }

    /** One JSON value a line: a second record after the first was silently dropped. */
    private static final com.fasterxml.jackson.databind.ObjectReader ONE_VALUE = Json.MAPPER.readerFor(JsonNode.class)
            .with(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static List<Example> read(DataSource source, Task task, boolean requireAnswers) {
        List<Example> out = new ArrayList<>();
        String answer = task.textToText() ? task.targetColumn() : task.labelColumn();
        try (Lines r = source.lines()) {
            String line;
            int lineNo = 0;
            while ((line = r.next()) != null) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1); // a UTF-8 byte order mark, as editors on Windows write it
                }
                if (line.isBlank()) {
                    continue;
                }
                JsonNode row;
                try {
                    row = ONE_VALUE.readValue(line);
                } catch (com.fasterxml.jackson.databind.exc.MismatchedInputException e) {
                    throw new UserException(source.name() + ":" + lineNo + ": more than one JSON value on the line (one record a "
                            + "line; anything after the first would be lost)");
                } catch (IOException e) {
                    throw new UserException(source.name() + ":" + lineNo + ": not a JSON object");
                }
                if (row == null || !row.isObject()) {
                    throw new UserException(source.name() + ":" + lineNo + ": not a JSON object");
                }
                JsonNode text = row.get(task.textColumn());
                if (text == null) {
                    throw new UserException(source.name() + ":" + lineNo + ": no '" + task.textColumn() + "' field");
                }
                if (!text.isTextual()) {
                    throw new UserException(source.name() + ":" + lineNo + ": '" + task.textColumn() + "' must be a string (got "
                            + kind(text) + ")");
                }
                JsonNode a = row.get(answer);
                if ((a == null || a.isNull()) && requireAnswers) {
                    throw new UserException(source.name() + ":" + lineNo + ": no '" + answer + "' field"
                            + (a != null ? " (it is null)" : ""));
                }
                boolean labelOk = a == null || a.isNull() || a.isTextual() || (!task.textToText() && a.isIntegralNumber());
                if (!labelOk) {
                    throw new UserException(source.name() + ":" + lineNo + ": '" + answer + "' must be a string"
                            + (task.textToText() ? "" : " or a whole number") + " (got " + kind(a) + ")");
                }
                if (task.textToText()) {
                    out.add(new Example(text.asText().strip(), -1, lineNo, a == null ? null : a.asText().strip()));
                    continue;
                }
                int label = -1;
                if (a != null && !a.isNull()) {
                    label = task.classOf(a.asText());
                    if (label < 0) {
                        throw new UserException(source.name() + ":" + lineNo + ": label " + UserException.quote(a.asText())
                                + " is not in the verbalizer (" + String.join(", ", task.labels()) + ")");
                    }
                }
                out.add(new Example(text.asText().strip(), label, lineNo));
            }
        } catch (IOException e) {
            throw new UserException(source.name() + ": cannot read: " + AtomicFiles.reason(e));
        }
        if (out.isEmpty()) {
            throw new UserException(source.name() + ": no data rows");
        }
        return out;
    }
}
