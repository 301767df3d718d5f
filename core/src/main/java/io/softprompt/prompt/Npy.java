package io.softprompt.prompt;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * NumPy .npy files of a 2-D float32 array [N, D], the layout of Lester et al.'s released prompts
 * (format: numpy.lib.format, versions 1.0 to 3.0). Written as version 1.0, little-endian, C order.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** An array read from a .npy file: values row-major, rows N, columns D. */
    public record Array(float[] values, int rows, int cols) {}

    private Npy() {}

    public static void write(Path file, float[] values, int rows, int cols) throws IOException {
        AtomicFiles.write(file, writer(values, rows, cols));
    }

    /** The whole .npy file, for an atomic writer. */
    public static AtomicFiles.Writer writer(float[] values, int rows, int cols) {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.US_ASCII));
        b.asFloatBuffer().put(values);
        return out -> out.write(b.array());
    }

    /** The longest header a .npy file may have here (NumPy itself refuses headers past 10,000 bytes by default). */
    static final int MAX_HEADER = 1 << 16;

    /**
     * Reads a 2-D float32 array. The header is read first and parsed as the Python dict literal it is
     * ({@link PyLiteral}); every size is checked against the file's real size before the data is read,
     * so a lying header costs nothing and a file too large for a prompt is refused by its size.
     */
    public static Array read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            AtomicFiles.readFully(ch, pre.limit((int) Math.min(12, size)), 0);
            if (size < 10) {
                throw new UserException(file + ": not a .npy file (too short)");
            }
            for (int i = 0; i < MAGIC.length; i++) {
                if (pre.get(i) != MAGIC[i]) {
                    throw new UserException(file + ": not a .npy file (no \\x93NUMPY magic)");
                }
            }
            int major = pre.get(6);
            long headerLen;
            int start;
            if (major == 1) {
                headerLen = Short.toUnsignedInt(pre.getShort(8));
                start = 10;
            } else if (major == 2 || major == 3) {
                if (size < 12) {
                    throw new UserException(file + ": truncated .npy header");
                }
                headerLen = Integer.toUnsignedLong(pre.getInt(8));
                start = 12;
            } else {
                throw new UserException(file + ": .npy format version " + major + "." + pre.get(7)
                        + " is not supported (1.0 to 3.0)");
            }
            if (headerLen > MAX_HEADER) {
                throw new UserException(file + ": .npy header length " + headerLen + " is beyond reason (at most "
                        + MAX_HEADER + " bytes)");
            }
            if (start + headerLen > size) {
                throw new UserException(file + ": truncated .npy header (" + headerLen + " bytes announced, the file has "
                        + size + ")");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            AtomicFiles.readFully(ch, hb.limit((int) headerLen), start);
            String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Object parsed;
            try {
                parsed = PyLiteral.parse(header);
            } catch (IllegalArgumentException e) {
                throw new UserException(file + ": malformed .npy header (" + e.getMessage() + ")");
            }
            if (!(parsed instanceof Map<?, ?> dict)) {
                throw new UserException(file + ": malformed .npy header (not a Python dict)");
            }
            if (!dict.keySet().equals(Set.of("descr", "fortran_order", "shape"))) {
                throw new UserException(file + ": malformed .npy header (keys must be exactly descr, fortran_order, shape)");
            }
            if (!(dict.get("descr") instanceof String descr)) {
                throw new UserException(file + ": malformed .npy header ('descr' is not a string)");
            }
            if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
                throw new UserException(file + ": malformed .npy header ('fortran_order' is not True or False)");
            }
            if (!(dict.get("shape") instanceof PyLiteral.Tuple shape)) {
                throw new UserException(file + ": malformed .npy header ('shape' is not a tuple)");
            }
            if (!descr.equals("<f4")) {
                throw new UserException(file + ": dtype " + (descr.matches("[<>|=]?[A-Za-z][0-9]{0,3}") ? descr : UserException.quote(descr)) + " is not float32 little-endian "
                        + "('<f4'); save with arr.astype('<f4')");
            }
            if (fortran) {
                throw new UserException(file + ": a Fortran-order array; save with np.ascontiguousarray(arr)");
            }
            List<Object> dims = shape.items();
            if (dims.size() != 2 || !(dims.get(0) instanceof Long rows) || !(dims.get(1) instanceof Long cols)
                    || rows < 1 || cols < 1) {
                throw new UserException(file + ": shape " + shape + " is not a 2-D prompt [N, D]");
            }
            long data = size - start - headerLen;
            if (rows > Integer.MAX_VALUE / 4 || cols > Integer.MAX_VALUE / 4 || rows * cols > (Integer.MAX_VALUE - 8) / 4) {
                throw new UserException(file + ": shape " + shape + " is far larger than any prompt");
            }
            long need = rows * cols * 4;
            if (data != need) {
                throw new UserException(file + ": holds " + data + " data bytes, shape " + shape + " needs " + need
                        + (data < need ? " (truncated file)" : ""));
            }
            ByteBuffer body = ByteBuffer.allocate((int) need).order(ByteOrder.LITTLE_ENDIAN);
            AtomicFiles.readFully(ch, body.limit((int) need), start + headerLen);
            float[] v = new float[(int) (rows * cols)];
            body.rewind();
            body.asFloatBuffer().get(v);
            return new Array(v, (int) (long) rows, (int) (long) cols);
        } catch (NoSuchFileException e) {
            throw new UserException(file + ": file not found");
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + AtomicFiles.reason(e));
        }
    }
}
