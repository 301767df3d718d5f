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
 * "rotate half" pairing (i, i + K/2), positions 0..S-1 over prompt and tokens, and the {@code llama3}
 * rope_scaling type. Dimensions (docs/ARCHITECTURE.md): B batch, H heads, S positions, K head size.
 */
public final class Rotary {
    private final float[] invFreq; // [K/2]
    private final int headDim;

    public Rotary(int headDim, double theta, Map<String, Object> scaling) {
        this.headDim = headDim;
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            // float32 as torch: 1 / (base ** (arange(0, K, 2).float() / K))
            float exponent = (float) (2 * i) / headDim;
            f[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
        }
        String kind = scaling == null ? "default" : String.valueOf(scaling.getOrDefault("rope_type", scaling.get("type")));
        if (kind.equals("llama3")) {
            f = llama3(f, scaling);
        } else if (kind.equals("linear")) { // positions divided by factor (Gemma 3's global layers)
            float factor = (float) num(scaling, "factor", 1.0);
            for (int i = 0; i < f.length; i++) {
                f[i] /= factor;
            }
        } else if (!kind.equals("default")) { // ignored, it would compute another model than the checkpoint's
            throw new io.softprompt.util.UserException("rope_scaling of type " + io.softprompt.util.UserException.quote(kind)
                    + " is not supported (default, linear and llama3 are)");
        }
        this.invFreq = f;
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
        for (int p = 0; p < len; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) (start + p) * invFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
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
        for (int r = 0; r < b; r++) {
            float[] c = new float[len * headDim];
            float[] s = new float[len * headDim];
            int half = headDim / 2;
            for (int p = 0; p < len; p++) {
                for (int i = 0; i < half; i++) {
                    float angle = (float) (starts[r] + p) * invFreq[i];
                    c[p * headDim + i] = c[p * headDim + i + half] = (float) Math.cos(angle);
                    s[p * headDim + i] = s[p * headDim + i + half] = (float) Math.sin(angle);
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
