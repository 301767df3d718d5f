package io.softprompt.data;

import io.softprompt.util.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * GLUE-style TSV: a header line naming the columns (e.g. {@code sentence\tlabel}), then one row per
 * line. Every error names the file and the line.
 */
public final class TsvReader {
    private TsvReader() {}

    /**
     * Reads rows: TSV, or JSON lines when the name ends in .jsonl. Every label must be one of the task's
     * verbalizer keys; text-to-text rows carry a target instead.
     */
    public static List<Example> read(DataSource source, Task task, boolean requireLabels) {
        if (source.name().endsWith(".jsonl")) {
            return JsonlReader.read(source, task, requireLabels);
        }
        return readTsv(source, task, requireLabels);
    }

    static List<Example> readTsv(DataSource source, Task task, boolean requireLabels) {
        List<Example> out = new ArrayList<>();
        try (BufferedReader r = source.open()) {
            String header = r.readLine();
            if (header == null) {
                throw new UserException(source.name() + ": empty file (expected a header line '"
                        + task.textColumn() + "\\t" + task.labelColumn() + "')");
            }
            List<String> cols = Arrays.asList(stripBom(header).split("\t", -1));
            Set<String> seen = new HashSet<>();
            for (String c : cols) {
                if (!seen.add(c)) {
                    throw new UserException(source.name() + ":1: header names column '" + c + "' twice");
                }
            }
            int textCol = cols.indexOf(task.textColumn());
            String answerName = task.textToText() ? task.targetColumn() : task.labelColumn();
            int labelCol = cols.indexOf(answerName);
            if (textCol < 0) {
                throw new UserException(source.name() + ":1: header has no column '" + task.textColumn()
                        + "' (columns: " + String.join(", ", cols) + ")");
            }
            if (labelCol < 0 && requireLabels) {
                throw new UserException(source.name() + ":1: header has no column '" + answerName
                        + "' (columns: " + String.join(", ", cols) + ")");
            }
            String line;
            int lineNo = 1;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                String[] f = line.split("\t", -1);
                if (f.length != cols.size()) {
                    throw new UserException(source.name() + ":" + lineNo + ": expected " + cols.size()
                            + " tab-separated fields, found " + f.length);
                }
                int label = -1;
                if (task.textToText()) {
                    out.add(new Example(f[textCol].strip(), -1, lineNo, labelCol >= 0 ? f[labelCol].strip() : null));
                    continue;
                }
                if (labelCol >= 0) {
                    String l = f[labelCol].trim();
                    label = task.classOf(l);
                    if (label < 0) {
                        throw new UserException(source.name() + ":" + lineNo + ": label '" + l
                                + "' is not in the verbalizer (" + String.join(", ", task.labels()) + ")");
                    }
                }
                out.add(new Example(f[textCol].strip(), label, lineNo));
            }
        } catch (IOException e) {
            throw new UserException(source.name() + ": cannot read: " + e.getMessage());
        }
        if (out.isEmpty()) {
            throw new UserException(source.name() + ": no data rows");
        }
        return out;
    }

    private static String stripBom(String s) {
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }
}
