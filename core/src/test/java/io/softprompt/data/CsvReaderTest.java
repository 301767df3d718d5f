package io.softprompt.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.util.UserException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CSV data (Apache Commons CSV) read exactly as its TSV twin, with quoting, line breaks in fields and a BOM. */
class CsvReaderTest {
    @TempDir
    Path tmp;

    static Task task() {
        LinkedHashMap<String, String> v = new LinkedHashMap<>();
        v.put("neg", " bad");
        v.put("pos", " good");
        return new Task("mood", "{text} it was", "text", "y", v, null, null, null, null).validated("mood");
    }

    @Test
    void aCsvWithQuotedCommasQuotesAndLineBreaksReadsLikeItsTsvTwin() throws Exception {
        Path csv = tmp.resolve("rows.csv");
        Files.write(csv, ("\uFEFFid,text,y\r\n"
                + "1,\"a fine, witty film\",pos\r\n"
                + "2,\"it was \"\"dull\"\"\",neg\r\n"
                + "3,plain words,pos\r\n"
                + "\r\n"
                + "4,\"two\nlines\",neg\r\n"
                + "5,last,pos\r\n").getBytes(StandardCharsets.UTF_8));
        Path tsv = tmp.resolve("rows.tsv");
        Files.writeString(tsv, "id\ttext\ty\n1\ta fine, witty film\tpos\n2\tit was \"dull\"\tneg\n3\tplain words\tpos\n");
        List<Example> c = TsvReader.read(DataSource.file(csv), task(), true);
        List<Example> t = TsvReader.read(DataSource.file(tsv), task(), true);
        assertEquals(5, c.size());
        for (int i = 0; i < t.size(); i++) {
            assertEquals(t.get(i).text(), c.get(i).text());
            assertEquals(t.get(i).label(), c.get(i).label());
        }
        assertEquals("two\nlines", c.get(3).text(), "a line break inside quotes is part of the text");
        assertEquals(List.of(2, 3, 4, 6, 8), c.stream().map(Example::line).toList(), "each row's first line");

        // the format named rather than taken from the extension: the same bytes under another name
        Path txt = tmp.resolve("rows.txt");
        Files.copy(csv, txt);
        List<Example> named = TsvReader.read(DataSource.file(txt), task(), true, DataFormat.parse("CSV"));
        assertEquals(c.stream().map(Example::text).toList(), named.stream().map(Example::text).toList());
        assertThrows(UserException.class, () -> TsvReader.read(DataSource.file(txt), task(), true),
                "read as TSV by default, a CSV header names no 'text' column");
        UserException bad = assertThrows(UserException.class, () -> DataFormat.parse("xlsx"));
        assertEquals("format must be auto, tsv, csv or jsonl (got 'xlsx')", bad.getMessage());
    }

    @Test
    void badCsvIsOneLineNamingFileAndLine() throws Exception {
        String[][] cases = {
            {"text,y\nfine,pos\nbad,maybe\n", "bad.csv:3: label 'maybe' is not in the verbalizer"},
            {"text,y\nfine,pos\n\"unclosed,neg\n", "bad.csv:3: malformed CSV"},
            {"text,y\nfine,pos,extra\n", "bad.csv:2: expected 2 fields, found 3"},
            {"words,y\nfine,pos\n", "bad.csv:1: header has no column 'text'"},
            {"text,text\nfine,pos\n", "bad.csv:1: the header names a column twice"},
            {"text,y\n", "bad.csv: no data rows"},
        };
        for (String[] c : cases) {
            Path f = tmp.resolve("bad.csv");
            Files.writeString(f, c[0]);
            UserException e = assertThrows(UserException.class, () -> TsvReader.read(DataSource.file(f), task(), true));
            assertTrue(e.getMessage().startsWith(f + "") && e.getMessage().contains(c[1].substring(c[1].indexOf(':') + 0)
                    .replaceFirst("^bad\\.csv", "")), "expected '" + c[1] + "' in " + e.getMessage());
        }
        Path latin = tmp.resolve("latin.csv");
        Files.write(latin, "text,y\ncaf\u00e9,pos\n".getBytes(StandardCharsets.ISO_8859_1));
        UserException enc = assertThrows(UserException.class, () -> TsvReader.read(DataSource.file(latin), task(), true));
        assertTrue(enc.getMessage().contains("not valid UTF-8"), enc.getMessage());
    }
}
