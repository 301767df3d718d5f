package io.softprompt.data;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.UserException;
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
     * Reads rows: TSV, JSON lines when the name ends in .jsonl, CSV when it ends in .csv. Every label
     * must be one of the task's verbalizer keys; text-to-text rows carry a target instead.
     */
    public static List<Example> read(DataSource source, Task task, boolean requireLabels) {
        return read(source, task, requireLabels, DataFormat.AUTO);
    }

    /** As {@link #read(DataSource, Task, boolean)}, in the given format (AUTO: by extension). */
    public static List<Example> read(DataSource source, Task task, boolean requireLabels, DataFormat format) {
        return switch (format.of(source)) {
            case JSONL -> JsonlReader.read(source, task, requireLabels);
            case CSV -> CsvReader.read(source, task, requireLabels);
            default -> readTsv(source, task, requireLabels);
        };
    }

    static List<Example> readTsv(DataSource source, Task task, boolean requireLabels) {
        List<Example> out = new ArrayList<>();
        try (Lines r = source.lines()) {
            String header = r.next();
            if (header == null) {
                throw new UserException(source.name() + ": empty file (expected a header line '"
                        + task.textColumn() + "\\t" + task.labelColumn() + "')");
            }
            List<String> cols = Arrays.asList(stripBom(header).split("\t", -1));
            Set<String> seen = new HashSet<>();
            for (String c : cols) {
                if (!seen.add(c)) {
                    throw new UserException(source.name() + ":1: header names column " + UserException.quote(c) + " twice");
                }
            }
            int textCol = cols.indexOf(task.textColumn());
            String answerName = task.textToText() ? task.targetColumn() : task.labelColumn();
            int labelCol = cols.indexOf(answerName);
            if (textCol < 0) {
                throw new UserException(source.name() + ":1: header has no column '" + task.textColumn()
                        + "' (columns: " + columns(cols) + ")");
            }
            if (labelCol < 0 && requireLabels) {
                throw new UserException(source.name() + ":1: header has no column '" + answerName
                        + "' (columns: " + columns(cols) + ")");
            }
            String line;
            int lineNo = 1;
            while ((line = r.next()) != null) {
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
                        throw new UserException(source.name() + ":" + lineNo + ": label " + UserException.quote(l)
                                + " is not in the verbalizer (" + String.join(", ", task.labels()) + ")");
                    }
                }
                out.add(new Example(f[textCol].strip(), label, lineNo));
            }
        } catch (IOException e) {
            throw new UserException(source.name() + ": cannot read: " + AtomicFiles.reason(e));
        }
        if (out.isEmpty()) {
            throw new UserException(source.name() + ": no data rows");
        }
        return out;
    }

    /** A header's columns for a message: each quoted, at most eight. */
    static String columns(List<String> cols) {
        List<String> shown = new ArrayList<>();
        for (int i = 0; i < Math.min(8, cols.size()); i++) {
            shown.add(UserException.quote(cols.get(i)));
        }
        return String.join(", ", shown) + (cols.size() > 8 ? ", … (" + cols.size() + " in all)" : "");
    }

    private static String stripBom(String s) {
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }
}
