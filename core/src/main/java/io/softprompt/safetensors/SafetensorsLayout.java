package io.softprompt.safetensors;

import static io.softprompt.safetensors.SafetensorsFile.bad;

import io.softprompt.safetensors.SafetensorsFile.TensorInfo;
import io.softprompt.util.UserException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A safetensors header's entries checked against the file: each tensor's dtype, shape and byte range
 * well formed and consistent, and the ranges tiling the data section exactly. Every fault is one line
 * naming the file and the tensor.
 */
final class SafetensorsLayout {
    private SafetensorsLayout() {}

    /** One header entry as a tensor's description, refused when malformed or beyond the data's {@code dataSize} bytes. */
    static TensorInfo parseEntry(Path path, String name, Object value, long dataSize) {
        if (!(value instanceof Map<?, ?> m)) {
            throw bad(path, "tensor " + UserException.quote(name) + " has no {dtype, shape, data_offsets} entry");
        }
        Object dtype = m.get("dtype");
        Object shape = m.get("shape");
        Object offsets = m.get("data_offsets");
        if (!(dtype instanceof String dt) || !(shape instanceof List<?> sh) || !(offsets instanceof List<?> off)
                || off.size() != 2) {
            throw bad(path, "tensor " + UserException.quote(name) + " has a malformed header entry");
        }
        int elemBytes = SafetensorsFile.bytesPer(dt);
        if (elemBytes < 0) {
            throw bad(path, "tensor " + UserException.quote(name) + " has unsupported dtype " + UserException.quote(dt));
        }
        long[] dims = new long[sh.size()];
        long numel = 1;
        for (int i = 0; i < dims.length; i++) {
            if (!integral(sh.get(i)) || ((Number) sh.get(i)).longValue() < 0) {
                throw bad(path, "tensor " + UserException.quote(name) + " has a malformed shape " + sh);
            }
            dims[i] = ((Number) sh.get(i)).longValue();
            try {
                numel = Math.multiplyExact(numel, dims[i]);
            } catch (ArithmeticException e) {
                throw bad(path, "tensor " + UserException.quote(name) + " has a shape " + sh + " too large to exist");
            }
        }
        if (!integral(off.get(0)) || !integral(off.get(1))) {
            throw bad(path, "tensor " + UserException.quote(name) + " has data_offsets " + off + " that are not whole numbers");
        }
        Number b = (Number) off.get(0);
        Number en = (Number) off.get(1);
        long begin = b.longValue();
        long end = en.longValue();
        if (begin < 0 || end < begin) {
            throw bad(path, "tensor " + UserException.quote(name) + " has data_offsets " + off + " that run backwards");
        }
        if (numel > dataSize) {
            throw bad(path, "tensor " + UserException.quote(name) + " of shape " + sh + " needs more bytes than the file holds");
        }
        if (end - begin != numel * elemBytes) {
            throw bad(path, "tensor " + UserException.quote(name) + " spans " + (end - begin) + " bytes but " + dt
                    + " shape " + sh + " needs " + numel * elemBytes + " (header lies about offsets)");
        }
        if (end > dataSize) {
            throw bad(path, "tensor " + UserException.quote(name) + " ends at data byte " + end + " but the file holds only "
                    + dataSize + " data bytes (truncated file or header lies about offsets)");
        }
        return new TensorInfo(name, dt, dims, begin, end);
    }

    /** A whole number as JSON writes one (not 1.5, not "1", not 1e3 read as a double). */
    private static boolean integral(Object o) {
        return o instanceof Integer || o instanceof Long || o instanceof BigInteger bi && bi.bitLength() < 63;
    }

    /**
     * The spec's layout rule: tensors' byte ranges tile the data section exactly, in some order, with
     * no overlap and no hole (the reference library refuses the same files).
     */
    static void checkLayout(Path path, Collection<TensorInfo> infos, long dataSize) {
        List<TensorInfo> byBegin = new ArrayList<>(infos);
        byBegin.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long at = 0;
        for (TensorInfo t : byBegin) {
            if (t.begin() < at) {
                throw bad(path, "tensor " + UserException.quote(t.name()) + " overlaps another tensor's bytes (data_offsets [" + t.begin()
                        + ", " + t.end() + "])");
            }
            if (t.begin() > at) {
                throw bad(path, "bytes " + at + ".." + t.begin() + " of the data belong to no tensor (data_offsets leave a "
                        + "hole before '" + t.name() + "')");
            }
            at = t.end();
        }
        if (at != dataSize) {
            throw bad(path, "the tensors cover " + at + " of the file's " + dataSize + " data bytes");
        }
    }
}
