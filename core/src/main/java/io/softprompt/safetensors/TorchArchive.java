package io.softprompt.safetensors;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.UserException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * PyTorch's checkpoint format ({@code torch.save} since 1.6): a zip archive holding one folder with
 * {@code data.pkl} (the pickled value: a state dict, or one tensor), {@code data/<key>} (each storage's
 * raw little-endian bytes), {@code version} and {@code byteorder}. Read through {@link TorchPickle}, which
 * never executes anything; written with the same layout {@code torch.load(..., weights_only=True)} reads
 * (storages 64-byte aligned, as PyTorch aligns them).
 *
 * <p>Dimensions: a tensor's shape as stored; storages are flat.
 */
public final class TorchArchive {
    /** The largest data.pkl read (a state dict of thousands of tensors is a few hundred kilobytes). */
    static final long MAX_PICKLE = 64L << 20;
    /** The most a checkpoint read into memory may hold: one direct buffer. */
    static final long MAX_BYTES = Integer.MAX_VALUE - 8;
    static final int ALIGN = 64;
    private static final String ROOT = "archive/";

    private TorchArchive() {}

    /**
     * The tensors of a torch.save archive (a state dict, or one tensor named "tensor") as a
     * {@link SafetensorsFile} over their bytes in memory: contiguous tensors of float or integer types;
     * anything else is refused in one line naming the file.
     *
     * @param path the archive (pytorch_model.bin, a .pt file)
     * @return its tensors
     */
    public static SafetensorsFile read(Path path) {
        try (ZipFile zip = new ZipFile(path.toFile())) {
            String prefix = prefix(zip, path);
            Object root = TorchPickle.read(bytes(zip, prefix + "data.pkl", MAX_PICKLE, path), path.toString());
            Map<String, TorchPickle.Tensor> tensors = new LinkedHashMap<>();
            if (root instanceof TorchPickle.Tensor t) {
                tensors.put("tensor", t);
            } else if (root instanceof Map<?, ?> m) {
                for (var e : m.entrySet()) {
                    if (!(e.getKey() instanceof String k) || !(e.getValue() instanceof TorchPickle.Tensor t)) {
                        throw new UserException(path + ": a state dict entry that is not a named tensor");
                    }
                    tensors.put(k, t);
                }
            } else {
                throw new UserException(path + ": holds neither a tensor nor a state dict of tensors");
            }
            return image(zip, prefix, tensors, path);
        } catch (ZipException e) {
            throw new UserException(path + ": not a PyTorch archive (a zip; files saved before PyTorch 1.6 are not read: "
                    + "re-save them with torch.save or as safetensors)");
        } catch (IOException e) {
            throw new UserException(path + ": cannot read: " + AtomicFiles.reason(e));
        }
    }

    /** The one top folder every entry sits in (PyTorch's archive name), with its slash. */
    private static String prefix(ZipFile zip, Path path) {
        String prefix = null;
        for (var it = zip.entries().asIterator(); it.hasNext(); ) {
            String name = it.next().getName();
            int slash = name.indexOf('/');
            String top = slash < 0 ? "" : name.substring(0, slash + 1);
            if (top.isEmpty() || prefix != null && !prefix.equals(top)) {
                throw new UserException(path + ": not a PyTorch archive (its entries are not in one folder)");
            }
            prefix = top;
        }
        if (prefix == null || zip.getEntry(prefix + "data.pkl") == null) {
            throw new UserException(path + ": not a PyTorch archive (no data.pkl)");
        }
        return prefix;
    }

    private static byte[] bytes(ZipFile zip, String name, long max, Path path) throws IOException {
        ZipEntry e = zip.getEntry(name);
        if (e == null) {
            throw new UserException(path + ": no entry " + UserException.quote(name));
        }
        if (e.getSize() > max) {
            throw new UserException(path + ": entry " + UserException.quote(name) + " of " + e.getSize() + " bytes, over " + max);
        }
        try (InputStream in = zip.getInputStream(e)) {
            return in.readNBytes((int) max + 1);
        }
    }

    /** Every tensor's bytes, checked against its storage, copied into one buffer read as a safetensors file's data. */
    private static SafetensorsFile image(ZipFile zip, String prefix, Map<String, TorchPickle.Tensor> tensors, Path path)
            throws IOException {
        long total = 0;
        for (var e : tensors.entrySet()) {
            total += check(zip, prefix, e.getKey(), e.getValue(), path);
            if (total > MAX_BYTES) {
                throw new UserException(path + ": over " + MAX_BYTES + " bytes of tensors; convert it to safetensors");
            }
        }
        ByteBuffer data = ByteBuffer.allocateDirect((int) total).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, SafetensorsFile.TensorInfo> infos = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            TorchPickle.Tensor t = e.getValue();
            int per = SafetensorsFile.bytesPer(t.storage().dtype());
            long n = numel(t.shape());
            long begin = data.position();
            try (InputStream in = zip.getInputStream(zip.getEntry(prefix + "data/" + t.storage().key()))) {
                in.skipNBytes(t.offset() * per);
                byte[] b = in.readNBytes((int) (n * per));
                data.put(b);
            }
            infos.put(e.getKey(), new SafetensorsFile.TensorInfo(e.getKey(), t.storage().dtype(), t.shape(), begin, data.position()));
        }
        data.flip();
        return SafetensorsFile.inMemory(path, infos, data);
    }

    /** A tensor's byte count, after checking it is a contiguous view inside a storage the archive holds whole. */
    private static long check(ZipFile zip, String prefix, String name, TorchPickle.Tensor t, Path path) {
        String what = path + ": tensor " + UserException.quote(name);
        String dtype = t.storage().dtype();
        if (dtype.equals("BOOL") || dtype.equals("U8") || dtype.equals("I8") || dtype.equals("I16")) {
            throw new UserException(what + " is " + dtype + " (floating-point and I32/I64 tensors are read)");
        }
        int per = SafetensorsFile.bytesPer(dtype);
        long n = numel(t.shape());
        long expected = 1;
        for (int i = t.shape().length - 1; i >= 0; i--) {
            if (t.shape()[i] != 1 && t.stride()[i] != expected) {
                throw new UserException(what + " is not contiguous (strides " + Arrays.toString(t.stride()) + "); save it with "
                        + ".contiguous() or as safetensors");
            }
            expected *= t.shape()[i];
        }
        if (n < 0 || t.offset() + n > t.storage().numel()) {
            throw new UserException(what + " reaches past its storage");
        }
        ZipEntry entry = zip.getEntry(prefix + "data/" + t.storage().key());
        if (entry == null || entry.getSize() != t.storage().numel() * per) {
            throw new UserException(what + ": its storage " + UserException.quote(t.storage().key()) + " is "
                    + (entry == null ? "missing" : entry.getSize() + " bytes, not " + t.storage().numel() * per));
        }
        return n * per;
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0 || d > MAX_BYTES) {
                return -1;
            }
            n *= d;
            if (n > MAX_BYTES) {
                return -1;
            }
        }
        return n;
    }

    /** A float32 tensor to write: row-major values and its shape. */
    public record Floats(float[] values, long... shape) {}

    /**
     * Writes tensors as torch.save writes them: one tensor alone (a single entry named "") or a state
     * dict (an OrderedDict of name → tensor), each float32 in its own storage.
     *
     * @param out where the archive goes
     * @param tensors name → tensor; a single entry with the name "" is written as a bare tensor
     */
    public static void write(OutputStream out, Map<String, Floats> tensors) throws IOException {
        boolean bare = tensors.size() == 1 && tensors.containsKey("");
        TorchPickleWriter pkl = new TorchPickleWriter();
        List<byte[]> storages = new ArrayList<>();
        if (!bare) {
            pkl.orderedDict();
        }
        for (var e : tensors.entrySet()) {
            Floats f = e.getValue();
            if (!bare) {
                pkl.string(e.getKey());
            }
            pkl.tensor(Integer.toString(storages.size()), f.values().length, f.shape());
            if (!bare) {
                pkl.setItem();
            }
            ByteBuffer b = ByteBuffer.allocate(f.values().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(f.values());
            storages.add(b.array());
        }
        CountingStream counted = new CountingStream(out);
        try (ZipOutputStream zip = new ZipOutputStream(counted)) {
            stored(zip, counted, ROOT + "data.pkl", pkl.finish(), false);
            stored(zip, counted, ROOT + "byteorder", "little".getBytes(StandardCharsets.US_ASCII), false);
            for (int i = 0; i < storages.size(); i++) {
                stored(zip, counted, ROOT + "data/" + i, storages.get(i), true);
            }
            stored(zip, counted, ROOT + "version", "3\n".getBytes(StandardCharsets.US_ASCII), false);
            stored(zip, counted, ROOT + ".data/version", "3\n".getBytes(StandardCharsets.US_ASCII), false);
        }
    }

    /** One uncompressed entry; a storage's bytes start on a 64-byte boundary (padding in an extra field, as PyTorch's). */
    private static void stored(ZipOutputStream zip, CountingStream counted, String name, byte[] b, boolean align)
            throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(b.length);
        e.setCompressedSize(b.length);
        CRC32 crc = new CRC32();
        crc.update(b);
        e.setCrc(crc.getValue());
        e.setTime(315532800000L); // the DOS epoch: the same bytes for the same tensors
        if (align) {
            long header = counted.count + 30 + name.getBytes(StandardCharsets.UTF_8).length + 4;
            int pad = (int) ((ALIGN - header % ALIGN) % ALIGN);
            ByteBuffer extra = ByteBuffer.allocate(4 + pad).order(ByteOrder.LITTLE_ENDIAN);
            extra.putShort((short) 0x4246).putShort((short) pad); // "FB", PyTorch's padding field
            e.setExtra(extra.array());
        }
        zip.putNextEntry(e);
        zip.write(b);
        zip.closeEntry();
    }

    /** Counts what passes, so that the next entry's header offset is known. */
    private static final class CountingStream extends java.io.FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    /** The archive's bytes, for a payload sent over the wire (vLLM's prompt_embeds). */
    public static byte[] bytes(Map<String, Floats> tensors) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            write(b, tensors);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return b.toByteArray();
    }
}
