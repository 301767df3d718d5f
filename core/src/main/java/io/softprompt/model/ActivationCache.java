package io.softprompt.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.safetensors.Half;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The frozen model, keeping what its layers below a prompt compute. A prompt that enters at layer l (a
 * partial-depth deep prompt, a late prompt) cannot change the hidden states entering l: for a row of
 * tokens at given positions they are the same at every step, every epoch and every evaluation. This model
 * answers {@link #entry} from what it kept, keyed by the row's tokens, the layer and the positions, so a
 * training run computes them once per example and its evaluations once per dev row, and runs of a pack
 * sharing this model share them.
 *
 * <p>Rows not kept yet run together, each padded to the next multiple of 16 tokens, those of one length in
 * one batch: a row's states depend on the length it is padded to, not on its batch-mates (PyTorch's CPU
 * kernels compute each row of a batch alike; {@code PartialDepthTest} checks it bit for bit), so what is
 * kept depends on the row only, never on when it was first seen, and a resumed run rebuilds the same
 * values. They are kept
 * as float16 (2^-11 relative; a row holding a value float16 cannot represent is kept as float32) and served
 * from what was kept from the first visit on. Up to the memory budget they stay in native memory (outside the
 * Java heap, in chunks of up to 64 MiB); beyond it they
 * go to a file in the run folder, deleted when the cache closes. A budget of 0 keeps nothing.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, T tokens, D hidden.
 */
public final class ActivationCache implements LanguageModel, AutoCloseable {
    private record Key(long[] ids, int layer, int offset) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.layer == layer && k.offset == offset && Arrays.equals(k.ids, ids);
        }

        @Override
        public int hashCode() {
            return (Arrays.hashCode(ids) * 31 + layer) * 31 + offset;
        }
    }

    /** A kept row, float16 bits (float32 when wide), little-endian: in {@code memory}, or {@code bytes} at {@code at} in the spill file. */
    private record Entry(ByteBuffer memory, long at, int bytes, boolean wide) {}

    /** What the cache did, for the run's log. */
    public record Stats(long rows, long hits, long misses, long memoryBytes, long spilledBytes) {}

    private final LanguageModel lm;
    private final long budget;
    private final Path spillDir;
    private static final int BUCKET = 16;
    private final Map<Key, Entry> kept = new HashMap<>();
    private final List<Key> passing = new ArrayList<>(); // kept for one batch only (over budget, no spill folder)
    private static final long CHUNK = 64L << 20;
    private final List<ByteBuffer> arena = new ArrayList<>();
    private long memory;
    private long hits;
    private long misses;
    private FileChannel spill;
    private Path spillFile;
    private long spillEnd;

    /**
     * @param lm the frozen model
     * @param budgetBytes the memory the kept rows may take (0: keep nothing)
     * @param spillDir where rows beyond the budget go (a run folder), or null to compute them each time
     */
    public ActivationCache(LanguageModel lm, long budgetBytes, Path spillDir) {
        this.lm = lm;
        this.budget = budgetBytes;
        this.spillDir = spillDir;
    }

    /** The model beneath. */
    public LanguageModel model() {
        return lm;
    }

    @Override
    public synchronized NDArray entry(NDArray ids, NDArray mask, int layer, int offset) {
        if (layer == 0 || budget == 0) {
            return lm.entry(ids, mask, layer, offset);
        }
        int b = (int) ids.getShape().get(0);
        int t = (int) ids.getShape().get(1);
        int d = lm.hiddenSize();
        long[] all = ids.toLongArray();
        long[] real = mask.toLongArray();
        Key[] keys = new Key[b];
        Map<Integer, List<Key>> missing = new TreeMap<>(); // by padded length
        for (int r = 0; r < b; r++) {
            int len = 0;
            while (len < t && real[r * t + len] != 0) {
                len++;
            }
            for (int j = len; j < t; j++) {
                if (real[r * t + j] != 0) { // not right-padded: no row of its own to key
                    return lm.entry(ids, mask, layer, offset);
                }
            }
            keys[r] = new Key(Arrays.copyOfRange(all, r * t, r * t + len), layer, offset);
            if (kept.containsKey(keys[r])) {
                hits++;
            } else {
                missing.computeIfAbsent(padded(len, offset), k -> new ArrayList<>()).add(keys[r]);
            }
        }
        missing.forEach((length, rows) -> compute(ids.getManager(), rows, length, layer, offset));
        float[] out = new float[b * t * d];                                                  // [B, T, D], padding 0
        for (int r = 0; r < b; r++) {
            read(kept.get(keys[r]), out, r * t * d, keys[r].ids().length * d);
        }
        passing.forEach(kept::remove);
        passing.clear();
        return Tensors.create(ids.getManager(), out, new Shape(b, t, d)).toType(lm.dtype(), false); // [B, T, D]
    }

    /**
     * The length a row of {@code len} tokens is computed at: the next multiple of {@value #BUCKET} (within
     * the positions the model has). A row's states depend on the length it is padded to (the attention's
     * reductions run over it), not on its batch-mates: so a row's kept values are a function of the row
     * alone, wherever it is first seen, and rows of one length run as one batch.
     */
    private int padded(int len, int offset) {
        int p = (len + BUCKET - 1) / BUCKET * BUCKET;
        return Math.max(len, Math.min(p, lm.maxPositions() == Integer.MAX_VALUE ? p : lm.maxPositions() - offset));
    }

    /** Rows not kept yet, padded to {@code length}: [G, length] through the frozen layers at once, each row kept. */
    private void compute(NDManager parent, List<Key> rows, int length, int layer, int offset) {
        int g = rows.size();
        long[] ids = new long[g * length];
        long[] mask = new long[g * length];
        Arrays.fill(ids, lm.specials().pad());
        for (int i = 0; i < g; i++) {
            long[] row = rows.get(i).ids();
            System.arraycopy(row, 0, ids, i * length, row.length);
            Arrays.fill(mask, i * length, i * length + row.length, 1L);
        }
        float[] h;
        try (NDManager m = parent.newSubManager()) {
            h = lm.entry(Tensors.create(m, ids, new Shape(g, length)), Tensors.create(m, mask, new Shape(g, length)), layer, offset)
                    .toType(DataType.FLOAT32, false).toFloatArray();                              // [B, T, D], T the padded length
        }
        int d = lm.hiddenSize();
        for (int i = 0; i < g; i++) {
            Key key = rows.get(i);
            if (!kept.containsKey(key)) { // a row twice in one batch is kept once
                misses++;
                keep(key, Arrays.copyOfRange(h, i * length * d, (i * length + key.ids().length) * d));
            }
        }
    }

    private Entry keep(Key key, float[] values) {
        boolean wide = false;
        short[] half = new short[values.length];
        for (int i = 0; i < values.length && !wide; i++) {
            half[i] = Half.floatToFp16(values[i]);
            wide = Float.isInfinite(Half.fp16ToFloat(half[i])) != Float.isInfinite(values[i]);
        }
        int bytes = values.length * (wide ? 4 : 2);
        ByteBuffer row = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (wide) {
            row.asFloatBuffer().put(values);
        } else {
            row.asShortBuffer().put(half);
        }
        Entry e;
        if (memory + bytes <= budget) {
            e = new Entry(place(row), -1, bytes, wide);
            memory += bytes;
        } else if (spillDir != null) {
            e = spill(row, bytes, wide);
        } else { // no room and nowhere to spill: served as kept for this batch, then forgotten
            e = new Entry(row, -1, bytes, wide);
            passing.add(key);
        }
        kept.put(key, e);
        return e;
    }

    /** A row's bytes copied into the arena: native memory in chunks of up to 64 MiB, outside the Java heap. */
    private ByteBuffer place(ByteBuffer row) {
        int bytes = row.capacity();
        ByteBuffer chunk = arena.isEmpty() ? null : arena.get(arena.size() - 1);
        if (chunk == null || chunk.remaining() < bytes) {
            chunk = ByteBuffer.allocateDirect((int) Math.max(bytes, Math.min(CHUNK, budget)));
            arena.add(chunk);
        }
        ByteBuffer slot = chunk.slice(chunk.position(), bytes);
        slot.put(0, row, 0, bytes);
        chunk.position(chunk.position() + bytes);
        return slot;
    }

    private Entry spill(ByteBuffer row, int bytes, boolean wide) {
        try {
            if (spill == null) {
                Files.createDirectories(spillDir);
                spillFile = Files.createTempFile(spillDir, "activations-", ".bin");
                spillFile.toFile().deleteOnExit();
                spill = FileChannel.open(spillFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
            }
            long at = spillEnd;
            ByteBuffer buf = row.duplicate();
            while (buf.hasRemaining()) {
                spillEnd += spill.write(buf, spillEnd);
            }
            return new Entry(null, at, bytes, wide);
        } catch (IOException ex) {
            throw new UserException(spillDir + ": cannot spill the activation cache: " + AtomicFiles.reason(ex));
        }
    }

    private void read(Entry e, float[] out, int at, int n) {
        ByteBuffer buf;
        if (e.memory() != null) {
            buf = e.memory().duplicate();
        } else {
            buf = ByteBuffer.allocate(e.bytes());
            try {
                AtomicFiles.readFully(spill, buf, e.at());
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            buf.flip();
        }
        buf.order(ByteOrder.LITTLE_ENDIAN);
        if (e.wide()) {
            buf.asFloatBuffer().get(out, at, n);
            return;
        }
        short[] half = new short[n];
        buf.asShortBuffer().get(half);
        for (int i = 0; i < n; i++) {
            out[at + i] = Half.fp16ToFloat(half[i]);
        }
    }

    /** What was kept and served so far. */
    public synchronized Stats stats() {
        return new Stats(kept.size(), hits, misses, memory, spillEnd);
    }

    /** Forgets every row and deletes the spill file. */
    @Override
    public synchronized void close() {
        kept.clear();
        arena.clear(); // the chunks' native memory goes with them
        memory = 0;
        if (spill != null) {
            try {
                spill.close();
                Files.deleteIfExists(spillFile);
            } catch (IOException ignored) {
                // a cache file left behind is deleted at exit
            }
            spill = null;
        }
    }

    @Override
    public Dims dims() {
        return lm.dims();
    }

    @Override
    public Specials specials() {
        return lm.specials();
    }

    @Override
    public NDArray embeddings() {
        return lm.embeddings();
    }

    @Override
    public DataType dtype() {
        return lm.dtype();
    }

    @Override
    public Device device() {
        return lm.device();
    }

    @Override
    public NDArray embed(NDArray ids) {
        return lm.embed(ids);
    }

    @Override
    public NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span) {
        return lm.forward(embeds, keyMask, cache, span);
    }

    @Override
    public NDArray forwardRows(NDArray embeds, NDArray mask, long[] flat) {
        return lm.forwardRows(embeds, mask, flat);
    }

    @Override
    public NDArray decode(NDArray decoderIds, NDArray encoded, NDArray encoderMask, KvCache cache) {
        return lm.decode(decoderIds, encoded, encoderMask, cache);
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return lm.logits(hidden);
    }

    @Override
    public NDArray logits(NDArray hidden, NDArray ids) {
        return lm.logits(hidden, ids);
    }
}
