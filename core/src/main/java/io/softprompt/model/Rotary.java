package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.Tensors;
import java.util.Map;

/**
 * Rotary position embedding (RoPE) as transformers' Llama: inverse frequencies theta^(-2i/K), the
 * "rotate half" pairing (i, i + K/2), positions 0..S-1 over prompt and tokens, and the {@code llama3},
 * {@code linear} and {@code longrope} (Phi-3, Phi-4-mini) rope_scaling types.
 * Dimensions (docs/ARCHITECTURE.md): B batch, H heads, S positions, K head size.
 */
public final class Rotary {
    private final float[] invFreq; // [K/2]
    private final int headDim;
    /** longrope: the frequencies past the original context, used when a pass reaches beyond it; else null. */
    private final float[] longInvFreq; // [K/2]
    private final int originalMax;
    /** longrope's attention factor: cos and sin are scaled by it (1 elsewhere). */
    private final float attention;

    public Rotary(int headDim, double theta, Map<String, Object> scaling) {
        this(headDim, theta, scaling, 0, null);
    }

    /**
     * As {@link #Rotary(int, double, Map)}, with config.json's context lengths, which longrope needs.
     *
     * @param headDim the rotated dims R
     * @param theta rope_theta
     * @param scaling rope_scaling, or null
     * @param maxPositions max_position_embeddings
     * @param originalMax original_max_position_embeddings, or null
     */
    public Rotary(int headDim, double theta, Map<String, Object> scaling, int maxPositions, Integer originalMax) {
        this.headDim = headDim;
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            // float32 as torch: 1 / (base ** (arange(0, K, 2).float() / K))
            float exponent = (float) (2 * i) / headDim;
            f[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
        }
        String kind = scaling == null ? "default" : String.valueOf(scaling.getOrDefault("rope_type", scaling.get("type")));
        float[] longFreq = null;
        int origMax = Integer.MAX_VALUE;
        float attn = 1f;
        if (kind.equals("longrope") || kind.equals("su")) { // transformers' _compute_longrope_parameters
            f = longrope(theta, headDim, scaling, "short_factor");
            longFreq = longrope(theta, headDim, scaling, "long_factor");
            double factor = num(scaling, "factor", 1.0);
            origMax = maxPositions;
            if (originalMax != null) {
                factor = (double) maxPositions / originalMax;
                origMax = originalMax;
            }
            Object a = scaling.get("attention_factor");
            attn = (float) (a instanceof Number n ? n.doubleValue()
                    : factor <= 1.0 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(origMax)));
        } else if (kind.equals("llama3")) {
            f = llama3(f, scaling);
        } else if (kind.equals("linear")) { // positions divided by factor (Gemma 3's global layers)
            float factor = (float) num(scaling, "factor", 1.0);
            for (int i = 0; i < f.length; i++) {
                f[i] /= factor;
            }
        } else if (!kind.equals("default")) { // ignored, it would compute another model than the checkpoint's
            throw new io.softprompt.util.UserException("rope_scaling of type " + io.softprompt.util.UserException.quote(kind)
                    + " is not supported (default, linear, llama3 and longrope are)");
        }
        this.invFreq = f;
        this.longInvFreq = longFreq;
        this.originalMax = origMax;
        this.attention = attn;
    }

    /** 1 / (factor_i · θ^(2i/R)) in float32, as torch computes it. */
    static float[] longrope(double theta, int headDim, Map<String, Object> s, String key) {
        int half = headDim / 2;
        Object v = s.get(key);
        if (!(v instanceof java.util.List<?> list) || list.size() != half
                || !list.stream().allMatch(x -> x instanceof Number n && n.doubleValue() > 0)) {
            throw new io.softprompt.util.UserException("rope_scaling." + key + " must list " + half
                    + " positive numbers (one per rotated frequency)");
        }
        float[] out = new float[half];
        for (int i = 0; i < half; i++) {
            float pow = (float) Math.pow(theta, (float) (2 * i) / headDim);          // θ^(2i/R), float32
            out[i] = (float) (1.0 / (((Number) list.get(i)).floatValue() * pow));
        }
        return out;
    }

    /** The attention factor longrope scales cos and sin by (1 for the other types). */
    public float attentionFactor() {
        return attention;
    }

    /** The frequencies a pass ending at position {@code end} (exclusive) uses: longrope's long ones past the original context. */
    private float[] freqs(long end) {
        return longInvFreq != null && end > originalMax ? longInvFreq : invFreq;
    }

    /** transformers' _compute_llama3_parameters: long wavelengths slowed by factor, a smooth band between. */
    static float[] llama3(float[] invFreq, Map<String, Object> s) {
        double factor = num(s, "factor", 8.0);
        double low = num(s, "low_freq_factor", 1.0);
        double high = num(s, "high_freq_factor", 4.0);
        double oldLen = num(s, "original_max_position_embeddings", 8192);
        double lowWavelen = oldLen / low;
        double highWavelen = oldLen / high;
        float[] out = new float[invFreq.length];
        for (int i = 0; i < invFreq.length; i++) {
            double wavelen = 2 * Math.PI / invFreq[i];
            double f = invFreq[i];
            if (wavelen > lowWavelen) {
                f = f / factor;
            } else if (wavelen >= highWavelen) {
                double smooth = (oldLen / wavelen - low) / (high - low);
                f = (1 - smooth) * f / factor + smooth * f;
            }
            out[i] = (float) f;
        }
        return out;
    }

    private static double num(Map<String, Object> m, String k, double d) {
        Object v = m.get(k);
        return v instanceof Number n ? n.doubleValue() : d;
    }

    /** cos and sin tables [S, K] for positions start..start+S-1 (halves repeated, as cat(freqs, freqs)). */
    public NDList tables(NDManager m, int start, int len) {
        float[] cos = new float[len * headDim];
        float[] sin = new float[len * headDim];
        int half = headDim / 2;
        float[] inv = freqs((long) start + len);
        for (int p = 0; p < len; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) (start + p) * inv[i];
                float c = (float) Math.cos(angle) * attention;
                float s = (float) Math.sin(angle) * attention;
                cos[p * headDim + i] = c;
                cos[p * headDim + i + half] = c;
                sin[p * headDim + i] = s;
                sin[p * headDim + i + half] = s;
            }
        }
        return new NDList(Tensors.create(m, cos, new Shape(len, headDim)), Tensors.create(m, sin, new Shape(len, headDim)));
    }

    /**
     * cos and sin tables [B, 1, S, K] when each row's positions start elsewhere: row i covers
     * starts[i]..starts[i]+S-1 (rows of a batch that continue prefixes of different lengths).
     */
    public NDList tables(NDManager m, int[] starts, int len) {
        int b = starts.length;
        float[] cos = new float[b * len * headDim];
        float[] sin = new float[b * len * headDim];
        float[] inv = freqs((long) java.util.Arrays.stream(starts).max().orElse(0) + len);
        for (int r = 0; r < b; r++) {
            float[] c = new float[len * headDim];
            float[] s = new float[len * headDim];
            int half = headDim / 2;
            for (int p = 0; p < len; p++) {
                for (int i = 0; i < half; i++) {
                    float angle = (float) (starts[r] + p) * inv[i];
                    c[p * headDim + i] = c[p * headDim + i + half] = (float) Math.cos(angle) * attention;
                    s[p * headDim + i] = s[p * headDim + i + half] = (float) Math.sin(angle) * attention;
                }
            }
            System.arraycopy(c, 0, cos, r * len * headDim, c.length);
            System.arraycopy(s, 0, sin, r * len * headDim, s.length);
        }
        Shape shape = new Shape(b, 1, len, headDim);
        return new NDList(Tensors.create(m, cos, shape), Tensors.create(m, sin, shape));
    }

    /**
     * x [B, H, S, K] with only its first R dims rotated (cos, sin [.., R]) and the rest passed through:
     * Phi-3's partial rotary; {@link #apply} when R = K.
     */
    public static NDArray applyPartial(NDArray x, NDArray cos, NDArray sin, int r) {
        long k = x.getShape().get(3);
        if (r >= k) {
            return apply(x, cos, sin);
        }
        NDList parts = x.split(new long[] {r}, 3);                                         // [B, H, S, R], [B, H, S, K-R]
        return NDArrays.concat(new NDList(apply(parts.get(0), cos, sin), parts.get(1)), 3); // [B, H, S, K]
    }

    /** x [B, H, S, K] rotated: x·cos + rotate_half(x)·sin, with rotate_half(x) = cat(-x2, x1). */
    public static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, 3);
        NDArray rotated = NDArrays.concat(new NDList(halves.get(1).neg(), halves.get(0)), 3); // [B, H, S, K]
        return x.mul(Layers.matchType(cos, x)).add(rotated.mul(Layers.matchType(sin, x)));
    }
}
