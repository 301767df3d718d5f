package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Keys and values of the positions already run, per layer, so generation feeds one new token per step
 * instead of the whole sequence. Shapes: [B, Hkv, P, K] (Hkv key/value heads, P cached positions, K head
 * size; docs/ARCHITECTURE.md). Encoder-decoders also keep each layer's cross-attention keys and values, computed once.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, N prompt tokens, Hkv key/value heads, K head size, P cached positions.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final List<NDArray> keys = new ArrayList<>();
    private final List<NDArray> values = new ArrayList<>();
    private final List<NDList> cross = new ArrayList<>();
    private int length;
    private int[] rowStarts; // per row: the position of its first new token, when rows differ (else null)
    private int stackedAt;   // the stacked length P0 of a cache made by stack(): key index j ≥ P0 holds new tokens
    private int bareBelow;   // layers below this one hold none of the first bareWidth positions (a prompt that enters above them)
    private int bareWidth;

    public KvCache(NDManager parent) {
        this.manager = parent.newSubManager();
    }

    /**
     * A cache that holds nothing yet but places the next tokens at {@code positions}, in every layer: the
     * frozen layers below a prompt that enters above the bottom run their tokens at the positions they
     * have beside it (a key mask [B, positions + Q] whose first columns no layer reads).
     */
    public static KvCache at(NDManager parent, int positions) {
        KvCache c = new KvCache(parent);
        c.length = positions;
        c.bareBelow = Integer.MAX_VALUE;
        c.bareWidth = positions;
        return c;
    }

    /**
     * Marks the layers below {@code layer} as holding none of the positions cached so far (a deep prompt
     * in the layers from {@code layer} up): their keys start after those positions' key-mask columns.
     */
    public void bareBelow(int layer) {
        bareBelow = layer;
        bareWidth = length;
    }

    /** Whether layer l holds none of the first {@link #bareWidth} positions (a cache of a prompt entering above it). */
    public static boolean bare(KvCache cache, int layer) {
        return cache != null && layer < cache.bareBelow && cache.bareWidth > 0;
    }

    /**
     * The additive mask [..., P+Q] as a bare layer reads it, without the first columns of the positions it
     * does not hold ([..., P+Q−Pb]); null when no layer is bare.
     */
    public static NDArray bareMask(KvCache cache, NDArray mask) {
        if (cache == null || cache.bareBelow == 0 || cache.bareWidth == 0) {
            return null;
        }
        return mask.get(new NDIndex("..., " + cache.bareWidth + ":"));
    }

    /** The first layer holding the cached positions (0: every layer). */
    public int firstFilled() {
        return bareWidth == 0 ? 0 : bareBelow;
    }

    /** The cache's own NDManager: what is attached to it is freed when the cache closes. */
    NDManager scope() {
        return manager;
    }

    /** Positions cached so far (the next token's position). */
    public int length() {
        return length;
    }

    /**
     * Appends a layer's new keys and values [B, Hkv, Q, K] and returns the layer's full keys and values
     * [B, Hkv, P+Q, K], kept in the cache's own NDManager.
     */
    public NDList append(int layer, NDArray k, NDArray v) {
        while (keys.size() <= layer) {
            keys.add(null);
            values.add(null);
        }
        // the first keys and values are held as a view (reshape to their own shape), not a duplicate: DJL's
        // duplicate() detaches from autograd, and a deep prompt's prefix must pass its gradient on
        NDArray fullK = keys.get(layer) == null ? k.reshape(k.getShape()) : NDArrays.concat(new NDList(keys.get(layer), k), 2);
        NDArray fullV = values.get(layer) == null ? v.reshape(v.getShape()) : NDArrays.concat(new NDList(values.get(layer), v), 2);
        fullK.attach(manager);
        fullV.attach(manager);
        if (keys.get(layer) != null) {
            keys.get(layer).close();
            values.get(layer).close();
        }
        keys.set(layer, fullK);
        values.set(layer, fullV);
        return new NDList(fullK, fullV);
    }

    /** Layer l's keys and values so far, [B, Hkv, P, K] each (held by the cache: do not close them). */
    public NDList layer(int l) {
        return new NDList(keys.get(l), values.get(l));
    }

    /** Cross-attention keys and values of a layer, computed by {@code compute} the first time. */
    public NDList cross(int layer, Supplier<NDList> compute) {
        while (cross.size() <= layer) {
            cross.add(null);
        }
        if (cross.get(layer) == null) {
            NDList kv = compute.get();
            kv.attach(manager);
            cross.set(layer, kv);
        }
        return cross.get(layer);
    }

    /**
     * A new cache for a batch of {@code batch} rows that all start with this cache's positions (a
     * prompt's keys and values, computed once for B = 1): every layer's [1, Hkv, P, K] repeated to
     * [B, Hkv, P, K]. This cache is left untouched, so it can seed any number of batches.
     */
    public KvCache expand(NDManager parent, int batch) {
        KvCache c = new KvCache(parent);
        c.bareBelow = bareBelow;
        c.bareWidth = bareWidth;
        for (int l = 0; l < keys.size(); l++) {
            if (keys.get(l) == null) { // a bare layer
                c.keys.add(null);
                c.values.add(null);
                continue;
            }
            NDArray k = keys.get(l).repeat(0, batch);
            NDArray v = values.get(l).repeat(0, batch);
            k.attach(c.manager);
            v.attach(c.manager);
            c.keys.add(k);
            c.values.add(v);
        }
        c.length = length;
        return c;
    }

    /**
     * A cache for a batch whose rows start with different prefixes (prompts of different lengths):
     * row i gets {@code prefixes.get(i)}'s keys and values [1, Hkv, N_i, K], padded with zeros to the
     * longest, P = max N_i → [B, Hkv, P, K] per layer. The padding must be masked out in the key mask
     * ([B, P + Q]: ones for the N_i real positions), and row i's new tokens sit at positions N_i, N_i+1,
     * ... ({@link #rowStarts()}), so each row is computed exactly as with its own prefix alone.
     */
    public static KvCache stack(NDManager parent, List<KvCache> prefixes) {
        KvCache c = new KvCache(parent);
        int p = prefixes.stream().mapToInt(KvCache::length).max().orElse(0);
        int layers = prefixes.get(0).keys.size();
        int first = prefixes.get(0).firstFilled();
        if (prefixes.stream().anyMatch(x -> x.firstFilled() != first)) {
            throw new IllegalArgumentException("prefixes entering different layers cannot be stacked");
        }
        // layers below the prefixes' first hold none of their positions: nothing at all yet (a scoring prefix), or
        // the tokens after them (generation's first pass), which stack only when the prefixes share one length
        boolean bareHold = first > 0 && !prefixes.get(0).keys.isEmpty() && prefixes.get(0).keys.get(0) != null;
        int bare = first == 0 ? 0 : bareHold ? prefixes.get(0).bareWidth : p;
        if (bareHold && prefixes.stream().anyMatch(x -> x.bareWidth != bare)) {
            throw new IllegalArgumentException("rows continuing prefixes of different lengths above the bottom cannot be stacked");
        }
        Map<KvCache, NDList> padded = new IdentityHashMap<>();
        try (NDManager tmp = parent.newSubManager()) {
            for (int l = 0; l < layers; l++) {
                padded.clear();
                if (l < first && !bareHold) { // bare in every row, nothing held
                    c.keys.add(null);
                    c.values.add(null);
                    continue;
                }
                int skip = l < first ? bare : 0; // the positions this layer does not hold
                NDList ks = new NDList();
                NDList vs = new NDList();
                for (KvCache pre : prefixes) {
                    int layer = l;
                    NDList kv = padded.computeIfAbsent(pre, x -> {
                        NDArray k = x.keys.get(layer);                                 // [1, Hkv, N − Pb, K]
                        NDArray v = x.values.get(layer);                               // [1, Hkv, N − Pb, K]
                        if (x.length < p) {
                            Shape s = k.getShape();
                            NDArray zeros = tmp.zeros(new Shape(1, s.get(1), p - x.length, s.get(3)));
                            k = NDArrays.concat(new NDList(k, zeros), 2);              // [1, Hkv, P − Pb, K]
                            v = NDArrays.concat(new NDList(v, zeros), 2);
                            k.attach(tmp);
                            v.attach(tmp);
                        }
                        return new NDList(k, v);
                    });
                    ks.add(kv.get(0));
                    vs.add(kv.get(1));
                }
                NDArray k = NDArrays.concat(ks, 0);                                    // [B, Hkv, P − Pb, K]
                NDArray v = NDArrays.concat(vs, 0);                                    // [B, Hkv, P − Pb, K]
                k.attach(c.manager);
                v.attach(c.manager);
                c.keys.add(k);
                c.values.add(v);
            }
        }
        c.length = p;
        c.stackedAt = p;
        if (first > 0) {
            c.bareBelow = first;
            c.bareWidth = bare;
        }
        c.rowStarts = prefixes.stream().mapToInt(KvCache::length).toArray();
        return c;
    }

    /**
     * Keeps only the given rows, in that order (rows that finished leave the batch): every layer's
     * [B, Hkv, P, K] becomes [B', Hkv, P, K] and each kept row keeps its own start.
     *
     * @param rows indices of the rows to keep, ascending
     */
    public void keep(int[] rows) {
        for (int l = 0; l < keys.size(); l++) {
            if (keys.get(l) != null) {
                keys.set(l, rows(keys.get(l), rows));                                         // [B', Hkv, P, K]
                values.set(l, rows(values.get(l), rows));                                     // [B', Hkv, P, K]
            }
        }
        if (rowStarts != null) {
            int[] kept = new int[rows.length];
            for (int i = 0; i < rows.length; i++) {
                kept[i] = rowStarts[rows[i]];
            }
            rowStarts = kept;
        }
    }

    private NDArray rows(NDArray x, int[] rows) {
        NDList parts = new NDList();
        for (int r : rows) {
            parts.add(x.get(new NDIndex("{}:{}", r, r + 1)));                                  // [1, Hkv, P, K]
        }
        NDArray out = parts.size() == 1 ? parts.get(0).reshape(parts.get(0).getShape()) : NDArrays.concat(parts, 0);
        out.attach(manager);
        parts.close();
        x.close();
        return out;
    }

    /**
     * Per row, the position of its first new token when rows have prefixes of different lengths
     * ({@link #stack}); null when every row continues at {@link #length()}.
     */
    public int[] rowStarts() {
        return rowStarts;
    }

    /**
     * Where the new tokens of a pass sit: 0 without a cache, the cache's length, and row i's own start
     * when rows continue prefixes of different lengths ({@link #stack}).
     *
     * @return one start per row, or null when every row starts at {@link #start(KvCache)}
     */
    public static int[] rowStarts(KvCache cache) {
        return cache == null ? null : cache.rowStarts;
    }

    /** The start every row shares: 0 without a cache, else its length (see {@link #rowStarts(KvCache)}). */
    public static int start(KvCache cache) {
        return cache == null ? 0 : cache.length;
    }

    /** The position after a pass of q new tokens, the furthest row's (positions the model must have). */
    public static long end(KvCache cache, int q) {
        int[] starts = rowStarts(cache);
        return (starts == null ? start(cache) : java.util.Arrays.stream(starts).max().orElse(0)) + (long) q;
    }

    /**
     * The positions [B·Q] of a pass's new tokens when rows start apart: offset + row i's start + j.
     *
     * @param starts one start per row
     * @param q new tokens per row
     * @param offset added to every position (a model's position offset)
     * @return the positions, row-major
     */
    public static long[] positions(int[] starts, int q, long offset) {
        long[] pos = new long[starts.length * q];
        for (int i = 0; i < starts.length; i++) {
            for (int j = 0; j < q; j++) {
                pos[i * q + j] = offset + starts[i] + j;
            }
        }
        return pos;
    }

    /**
     * The position of each key index per row, for a sliding window (which counts positions, not
     * indices): index j itself, except in a stacked cache, where row r's new tokens (index ≥ P0) follow
     * its own prefix of length L_r, and its padding (L_r ≤ j < P0) is masked anyway.
     *
     * @param keys K, the keys a pass sees (P + Q)
     * @return positions [B][K], or null when every row's index is its position
     */
    public int[][] keyPositions(int keys) {
        if (rowStarts == null) {
            return null;
        }
        int[][] pos = new int[rowStarts.length][keys];
        for (int r = 0; r < rowStarts.length; r++) {
            int own = rowStarts[r] - (length - stackedAt); // L_r, the row's own prefix length
            for (int j = 0; j < keys; j++) {
                pos[r][j] = j < stackedAt ? j : own + (j - stackedAt);
            }
        }
        return pos;
    }

    /** Marks q more positions as cached; called once per forward, after every layer appended. */
    public void advance(int q) {
        length += q;
        if (rowStarts != null) {
            for (int i = 0; i < rowStarts.length; i++) {
                rowStarts[i] += q;
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
