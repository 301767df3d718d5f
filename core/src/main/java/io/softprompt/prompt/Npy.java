package io.softprompt.prompt;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy .npy files of a 2-D float32 array [N, D], the layout of Lester et al.'s released prompts
 * (format: numpy.lib.format, versions 1.0 to 3.0). Written as version 1.0, little-endian, C order.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /** An array read from a .npy file: values row-major, rows N, columns D. */
    public record Array(float[] values, int rows, int cols) {}

    private Npy() {}

    public static void write(Path file, float[] values, int rows, int cols) throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.US_ASCII));
        b.asFloatBuffer().put(values);
        AtomicFiles.write(file, out -> out.write(b.array()));
    }

    public static Array read(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UserException(file + ": file not found");
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + e.getMessage());
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 10) {
            throw new UserException(file + ": not a .npy file (too short)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (all[i] != MAGIC[i]) {
                throw new UserException(file + ": not a .npy file (no \\x93NUMPY magic)");
            }
        }
        int major = all[6];
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(b.getShort(8));
            start = 10;
        } else if (major == 2 || major == 3) {
            if (all.length < 12) {
                throw new UserException(file + ": truncated .npy header");
            }
            headerLen = b.getInt(8);
            start = 12;
        } else {
            throw new UserException(file + ": .npy format version " + major + "." + all[7] + " is not supported (1.0 to 3.0)");
        }
        if (headerLen < 0 || start + headerLen > all.length) {
            throw new UserException(file + ": truncated .npy header");
        }
        String header = new String(all, start, headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header);
        Matcher f = FORTRAN.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new UserException(file + ": malformed .npy header: " + header.strip());
        }
        if (!d.group(1).equals("<f4")) {
            throw new UserException(file + ": dtype " + d.group(1) + " is not float32 little-endian ('<f4'); "
                    + "save with arr.astype('<f4')");
        }
        if (f.group(1).equals("True")) {
            throw new UserException(file + ": a Fortran-order array; save with np.ascontiguousarray(arr)");
        }
        String[] dims = s.group(1).split(",");
        List<Integer> shape = new ArrayList<>();
        for (String dim : dims) {
            if (!dim.isBlank()) {
                try {
                    shape.add(Integer.parseInt(dim.strip()));
                } catch (NumberFormatException e) {
                    throw new UserException(file + ": malformed shape (" + s.group(1) + ")");
                }
            }
        }
        if (shape.size() != 2 || shape.get(0) < 1 || shape.get(1) < 1) {
            throw new UserException(file + ": shape " + shape + " is not a 2-D prompt [N, D]");
        }
        long n = (long) shape.get(0) * shape.get(1);
        int data = start + headerLen;
        if (all.length - data != n * 4) {
            throw new UserException(file + ": holds " + (all.length - data) + " data bytes, shape " + shape + " needs "
                    + n * 4 + (all.length - data < n * 4 ? " (truncated file)" : ""));
        }
        float[] v = new float[(int) n];
        b.position(data);
        b.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return new Array(v, shape.get(0), shape.get(1));
    }
}
