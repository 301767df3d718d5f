package io.softprompt.data;

import io.softprompt.util.UserException;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The lines of a data file, each decoded as UTF-8 on its own, so that a file in another encoding is
 * refused naming the line it fails on ("data.tsv:12: not valid UTF-8 ...") rather than with the
 * decoder's bare "Input length = 1". Lines end at '\n'; a '\r' before it is dropped; a line past
 * {@link #MAX_LINE_BYTES} is refused naming it.
 */
public final class Lines implements Closeable {
    /**
     * The longest line (and CSV field) a data file may hold, 1 MiB. A 20 MB line aborted the JVM inside
     * the tokenizer (3.5 GB resident); no text the model reads needs more.
     */
    public static final int MAX_LINE_BYTES = 1 << 20;
    private final InputStream in;
    private final String name;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
    private final byte[] buf = new byte[1 << 16];
    private int pos;
    private int end;
    private int number;

    Lines(InputStream in, String name) {
        this.in = in;
        this.name = name;
    }

    /** The lines of any stream (standard input), errors naming it as {@code name}. */
    public static Lines of(InputStream in, String name) {
        return new Lines(in, name);
    }

    /** The number of the line {@link #next} returned last (1-based). */
    public int number() {
        return number;
    }

    /** The next line without its line end, or null at the end of the file. */
    public String next() throws IOException {
        line.reset();
        boolean any = false;
        while (true) {
            if (pos == end) {
                end = in.read(buf, 0, buf.length);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    if (!any) {
                        return null;
                    }
                    break;
                }
            }
            any = true;
            int start = pos;
            while (pos < end && buf[pos] != '\n') {
                pos++;
            }
            if (line.size() + (pos - start) > MAX_LINE_BYTES) { // refused before it is held, let alone tokenized
                throw new UserException(name + ":" + (number + 1) + ": a line longer than " + MAX_LINE_BYTES + " bytes (the most a "
                        + "data line may hold; a text is cut to max_length tokens anyway)");
            }
            line.write(buf, start, pos - start);
            if (pos < end) {
                pos++; // the '\n'
                break;
            }
        }
        number++;
        byte[] b = line.toByteArray();
        int n = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
        try {
            return utf8.reset().decode(ByteBuffer.wrap(b, 0, n)).toString();
        } catch (CharacterCodingException e) {
            int at = firstBad(b, n);
            throw new UserException(name + ":" + number + ": not valid UTF-8 text (at byte " + (at + 1) + " of the line); "
                    + "save the file as UTF-8");
        }
    }

    /** Where the line stops being UTF-8 (found by decoding ever longer prefixes' last sequence). */
    private int firstBad(byte[] b, int n) {
        int i = 0;
        while (i < n) {
            int c = b[i] & 0xFF;
            int len = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
            if (len == 0 || i + len > n) {
                return i;
            }
            try {
                utf8.reset().decode(ByteBuffer.wrap(b, i, len));
            } catch (CharacterCodingException e) {
                return i;
            }
            i += len;
        }
        return Math.max(0, n - 1);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
