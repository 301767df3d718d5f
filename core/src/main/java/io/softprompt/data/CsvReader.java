package io.softprompt.data;

import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.DuplicateHeaderMode;

/**
 * CSV as exported data sets write it (RFC 4180, read by Apache Commons CSV): a header naming the
 * columns, fields quoted when they hold commas, quotes or line breaks, a UTF-8 byte order mark
 * allowed. Rows read exactly as their TSV twin would; errors name the file and the line a row starts on.
 */
final class CsvReader {
    private static final CSVFormat FORMAT = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true)
            .setIgnoreEmptyLines(true).setDuplicateHeaderMode(DuplicateHeaderMode.DISALLOW).get();

    private CsvReader() {}

    static List<Example> read(DataSource source, Task task, boolean requireLabels) {
        String text = decode(source);
        int[] lineStarts = lineStarts(text);
        List<Example> out = new ArrayList<>();
        long line = 1;
        CSVParser parser;
        try {
            parser = FORMAT.parse(new StringReader(text));
        } catch (IllegalArgumentException e) {
            throw new UserException(source.name() + ":1: the header names a column twice, or is empty");
        } catch (IOException e) {
            throw failure(source, 1, e);
        }
        try (parser) {
            Map<String, Integer> cols = parser.getHeaderMap();
            String answer = task.textToText() ? task.targetColumn() : task.labelColumn();
            if (!cols.containsKey(task.textColumn())) {
                throw new UserException(source.name() + ":1: header has no column " + UserException.quote(task.textColumn())
                        + " (columns: " + TsvReader.columns(parser.getHeaderNames()) + ")");
            }
            boolean hasAnswer = cols.containsKey(answer);
            if (!hasAnswer && requireLabels) {
                throw new UserException(source.name() + ":1: header has no column " + UserException.quote(answer)
                        + " (columns: " + TsvReader.columns(parser.getHeaderNames()) + ")");
            }
            line = parser.getCurrentLineNumber() + 1;
            for (CSVRecord r : parser) {
                int at = lineOf(lineStarts, firstNonBlank(text, r.getCharacterPosition()));
                line = parser.getCurrentLineNumber() + 1;
                if (!r.isConsistent()) {
                    throw new UserException(source.name() + ":" + at + ": expected " + cols.size() + " fields, found " + r.size());
                }
                for (String field : r) {
                    if (field.length() > Lines.MAX_LINE_BYTES) { // checked before the tokenizer sees it
                        throw new UserException(source.name() + ":" + at + ": a field longer than " + Lines.MAX_LINE_BYTES
                                + " characters (the most a data field may hold)");
                    }
                }
                String value = r.get(task.textColumn()).strip();
                if (task.textToText()) {
                    out.add(new Example(value, -1, at, hasAnswer ? r.get(answer).strip() : null));
                    continue;
                }
                int label = -1;
                if (hasAnswer) {
                    String l = r.get(answer).trim();
                    label = task.classOf(l);
                    if (label < 0) {
                        throw new UserException(source.name() + ":" + at + ": label " + UserException.quote(l)
                                + " is not in the verbalizer (" + String.join(", ", task.labels()) + ")");
                    }
                }
                out.add(new Example(value, label, at));
            }
        } catch (UncheckedIOException e) {
            throw failure(source, line, e.getCause());
        } catch (IOException e) {
            throw failure(source, line, e);
        } catch (IllegalStateException e) {
            throw new UserException(source.name() + ":" + line + ": malformed CSV (a quote that is not closed, or text "
                    + "after a closing quote)");
        }
        if (out.isEmpty()) {
            throw new UserException(source.name() + ": no data rows");
        }
        return out;
    }

    /** The file as strict UTF-8 text, without a byte order mark. */
    private static String decode(DataSource source) {
        byte[] bytes;
        try (var in = source.stream()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UserException(source.name() + ": cannot read: " + io.softprompt.util.AtomicFiles.reason(e));
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(bytes)).toString();
            return s.startsWith("\uFEFF") ? s.substring(1) : s;
        } catch (CharacterCodingException e) {
            int at = 0;
            int line = 1;
            // the line of the first byte that is not UTF-8, from the bytes that are
            java.nio.charset.CharsetDecoder d = StandardCharsets.UTF_8.newDecoder();
            for (int i = 0; i < bytes.length; i = at) {
                int n = (bytes[i] & 0x80) == 0 ? 1 : (bytes[i] & 0xE0) == 0xC0 ? 2 : (bytes[i] & 0xF0) == 0xE0 ? 3 : 4;
                try {
                    d.reset().decode(java.nio.ByteBuffer.wrap(bytes, i, Math.min(n, bytes.length - i)));
                } catch (CharacterCodingException bad) {
                    break;
                }
                if (bytes[i] == '\n') {
                    line++;
                }
                at = i + n;
            }
            return fail(source.name() + ":" + line + ": not valid UTF-8 text; save the file as UTF-8");
        }
    }

    private static String fail(String message) {
        throw new UserException(message);
    }

    /** Where each line starts in text (line 1 at 0). */
    private static int[] lineStarts(String text) {
        List<Integer> starts = new ArrayList<>(List.of(0));
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                starts.add(i + 1);
            }
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The record's own start: past the empty lines the parser skipped before it. */
    private static long firstNonBlank(String text, long pos) {
        int i = (int) pos;
        while (i < text.length() && (text.charAt(i) == '\r' || text.charAt(i) == '\n')) {
            i++;
        }
        return i;
    }

    /** The 1-based line holding character position pos. */
    private static int lineOf(int[] starts, long pos) {
        int i = java.util.Arrays.binarySearch(starts, (int) pos);
        return (i >= 0 ? i : -i - 2) + 1;
    }

    private static UserException failure(DataSource source, long line, IOException e) {
        if (e instanceof CharacterCodingException) {
            return new UserException(source.name() + ":" + line + ": not valid UTF-8 text; save the file as UTF-8");
        }
        String m = e.getMessage() == null ? "" : e.getMessage();
        if (m.contains("encapsulated") || m.contains("EOF reached before")) {
            return new UserException(source.name() + ":" + line + ": malformed CSV (a quote that is not closed, or text "
                    + "after a closing quote)");
        }
        return new UserException(source.name() + ": cannot read: " + io.softprompt.util.AtomicFiles.reason(e));
    }
}
