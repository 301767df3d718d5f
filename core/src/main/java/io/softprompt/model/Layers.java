package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.softprompt.util.Tensors;
import java.util.function.UnaryOperator;

/**
 * Shared transformer layers as functions over NDArrays (frozen weights, no DJL Blocks needed).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, S sequence (prompt N + tokens T), D hidden, H heads, K head size
 * (D / H), F feed-forward width, V vocabulary.
 *
 * <p>Every operation puts the activation first ({@code x.matMul(w)}, not {@code w...}) so the result
 * lands in the activation's NDManager, which is the per-layer scope the caller opened.
 */
public final class Layers {
    /** Added to masked attention scores; exp underflows to exactly 0 as with finfo.min in HF. */
    public static final float MASK_VALUE = -1e9f;
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

    private Layers() {}

    /** LayerNorm over the last axis: x [..., D], weight/bias [D]. torch.layer_norm underneath. */
    public static NDArray layerNorm(NDArray x, NDArray weight, NDArray bias, float eps) {
        long d = x.getShape().get(x.getShape().dimension() - 1);
        return x.getNDArrayInternal().layerNorm(x, new Shape(d), weight, bias, eps).singletonOrThrow();
    }

    /** x [..., I] times w stored [I, O] (GPT-2 Conv1D layout) plus b [O] → [..., O]. */
    public static NDArray linearIO(NDArray x, NDArray w, NDArray b) {
        NDArray y = x.matMul(w);
        return b == null ? y : y.addi(b);
    }

    /**
     * GPT-2's gelu_new (tanh approximation): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as
     * x·sigmoid(2·√(2/π)·x·(1 + 0.044715·x²)) — the same function (0.5·(1 + tanh z) = sigmoid(2z)) with
     * three saved tensors for backward instead of five, which is a third of a training step's
     * activation memory on GPT-2 shapes. x [..., F] → [..., F].
     */
    public static NDArray geluNew(NDArray x) {
        NDArray t = x.mul(x).muli(scalar(x, 0.044715f)).addi(scalar(x, 1f)); // 1 + 0.044715·x² (saved by the next mul)
        NDArray u = t.mul(x).muli(scalar(x, 2f * SQRT_2_OVER_PI));            // 2z
        NDArray s = u.getNDArrayInternal().sigmoid();        // sigmoid(2z)      (saved: its output)
        return x.mul(s);
    }

    /**
     * A scalar [] in PyTorch-owned memory, in x's manager. Use it instead of DJL's {@code x.mul(0.5f)}:
     * DJL turns a Number into a tensor over a Java buffer, autograd saves that tensor for backward,
     * and when a layer's scope closes before backward runs the buffer can be freed and reused (seen
     * as NaN gradients after a garbage collection).
     */
    public static NDArray scalar(NDArray x, float value) {
        return Tensors.create(x.getManager(), new float[] {value}, new Shape()); // float32 [] keeps a half x half
    }

    /**
     * Runs one layer in its own NDManager scope so its temporaries are freed when it returns; only the
     * output survives, in the input's manager. When {@code consume} the input is released too (it is an
     * earlier layer's output: autograd keeps whatever backward needs).
     */
    public static NDArray scoped(NDArray x, boolean consume, UnaryOperator<NDArray> layer) {
        NDManager outer = x.getManager();
        try (NDManager scope = outer.newSubManager()) {
            if (consume) {
                x.attach(scope);
            } else {
                x.tempAttach(scope);
            }
            NDArray y = layer.apply(x);
            y.attach(outer);
            return y;
        }
    }

    /** x [..., I] times w stored [O, I] (torch.nn.Linear layout) plus optional b [O] → [..., O]. */
    public static NDArray linear(NDArray x, NDArray w, NDArray b) {
        return x.getNDArrayInternal().linear(x, w, b).singletonOrThrow();
    }

    /**
     * RMSNorm (Llama, T5): x / sqrt(mean(x²) + eps) · weight, over the last axis. x [..., D], weight [D].
     */
    public static NDArray rmsNorm(NDArray x, NDArray weight, float eps) {
        if (x.getDataType() == DataType.FLOAT16) {
            // x² would overflow float16 past |x| = 256: square x / 32 (|x| up to 8192); eps / 32² would
            // underflow to 0 (and a zero row, a padding embedding, to 0 / 0): at least float16's smallest step
            NDArray xs = x.mul(scalar(x, 1f / 32));                                    // [..., D]
            float e = Math.max(eps / 1024, 6e-8f);
            NDArray ms = xs.mul(xs).mean(new int[] {-1}, true).addi(scalar(x, e));     // [..., 1]
            return xs.div(ms.sqrt()).mul(weight);                                    // [..., D]
        }
        NDArray ms = x.mul(x).mean(new int[] {-1}, true).addi(scalar(x, eps)); // [..., 1]
        return x.div(ms.sqrt()).mul(weight);                          // [..., D]
    }

    /**
     * x as float32, differentiably: DJL's {@code toType} runs under a no-grad guard (its JNI torchTo),
     * so a cast there would cut the gradient; x · ones [1] (float32) promotes instead, and backward
     * casts the gradient back. (Going down to half has no such route: the trainable prompt is made
     * in the model's dtype instead, see Trainer.)
     */
    public static NDArray upcast(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) {
            return x;
        }
        return x.mul(Tensors.create(x.getManager(), new float[] {1f}, new Shape(1)));
    }

    /**
     * A constant in like's dtype (itself when it is): token embeddings, masks, rotary tables. Not
     * differentiable (see {@link #upcast}): never for a tensor a gradient must flow through.
     */
    public static NDArray matchType(NDArray x, NDArray like) {
        return x.getDataType() == like.getDataType() ? x : x.toType(like.getDataType(), false);
    }

    /**
     * Logits [M, V] in float32 from hidden states [M, D] and a head stored transposed [D, V]: a float32
     * head (a tied embedding table) takes the hidden states upcast; a half head multiplies in half.
     */
    public static NDArray head(NDArray hidden, NDArray headT) {
        if (hidden.getDataType() == headT.getDataType()) {
            return upcast(hidden.matMul(headT));
        }
        return upcast(hidden).matMul(headT);
    }

    /** SiLU: x · sigmoid(x). */
    public static NDArray silu(NDArray x) {
        return x.mul(x.getNDArrayInternal().sigmoid());
    }

    /** Exact GELU (erf), torch.nn.functional.gelu's default. */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /** Hugging Face activation names used by the supported architectures. */
    public static UnaryOperator<NDArray> activation(String name) {
        return switch (name) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> Layers::geluNew;
            case "gelu" -> Layers::gelu;
            case "relu" -> x -> x.getNDArrayInternal().relu();
            case "silu", "swish" -> Layers::silu;
            default -> null;
        };
    }

    /**
     * Grouped-query attention: k or v [B, Hkv, S, K] repeated to [B, Hkv·rep, S, K] (each kv head serves
     * rep consecutive query heads, as repeat_kv in transformers).
     */
    public static NDArray repeatKv(NDArray x, int rep) {
        if (rep == 1) {
            return x;
        }
        Shape s = x.getShape();
        return x.expandDims(2).broadcast(s.get(0), s.get(1), rep, s.get(2), s.get(3))
                .reshape(s.get(0), s.get(1) * rep, s.get(2), s.get(3));
    }

    /** Rows of x [B, R, D] at (b, r) pairs given as flat indices b·R + r → [M, D]. */
    public static NDArray rows(NDArray x, long[] flat) {
        Shape s = x.getShape();
        return embedding(Tensors.create(x.getManager(), flat), x.reshape(s.get(0) * s.get(1), s.get(2)));
    }

    /**
     * Flat indices b·S + start_b + position_b of one position per row on the token axis of [B, S, D]
     * hidden states, each row's tokens starting at {@code start} (the prompt's positions in front of them).
     */
    public static long[] flatRows(long s, long start, long[] positions) {
        long[] flat = new long[positions.length];
        for (int i = 0; i < positions.length; i++) {
            flat[i] = i * s + start + positions[i];
        }
        return flat;
    }

    /** Row lookup: ids [...] into table [V, D] → [..., D] (torch.embedding; differentiable in table). */
    public static NDArray embedding(NDArray ids, NDArray table) {
        return ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }

    /**
     * Additive attention mask [B, 1, S, S]: 0 where query i may see key j (j ≤ i when causal, and key j
     * is real), MASK_VALUE elsewhere. mask [B, S] holds 1 for real positions, 0 for padding.
     */
    public static NDArray additiveMask(NDManager manager, NDArray mask, boolean causal) {
        long len = mask.getShape().get(1);
        return additiveMask(manager, mask, causal, 0, len);
    }

    /**
     * Additive mask [B, 1, Q, K] for Q queries at absolute positions qStart.. over K keys: query i may see
     * key j when key j is real (keyMask [B, K]) and, when causal, j ≤ qStart + i. Without causality the
     * result is [B, 1, 1, K].
     */
    public static NDArray additiveMask(NDManager manager, NDArray keyMask, boolean causal, long qStart, long q) {
        Shape s = keyMask.getShape();
        long b = s.get(0);
        long k = s.get(1);
        NDArray keys = keyMask.toType(DataType.FLOAT32, false).reshape(b, 1, 1, k);   // [B,1,1,K]
        NDArray allowed = keys;
        if (causal) {
            float[] tri = new float[(int) (q * k)];
            for (int i = 0; i < q; i++) {
                for (int j = 0; j <= qStart + i && j < k; j++) {
                    tri[i * (int) k + j] = 1f;
                }
            }
            allowed = keys.mul(Tensors.create(manager, tri, new Shape(1, 1, q, k)));           // [B,1,Q,K]
        }
        return allowed.sub(scalar(allowed, 1f)).muli(scalar(allowed, -MASK_VALUE));  // [B,1,Q,K]
    }

    /**
     * A causal sliding-window mask [B, 1, Q, K]: query i (position qStart + i, or {@code rowStarts[b] + i})
     * sees key j when the key is real and its position p satisfies qpos - W < p ≤ qpos (Gemma's local
     * layers). {@code keyPos} gives each key's position per row (a stacked cache), null: its index.
     */
    public static NDArray windowMask(NDManager manager, NDArray keyMask, long qStart, long q, int window, int[] rowStarts,
            int[][] keyPos) {
        Shape s = keyMask.getShape();
        int b = (int) s.get(0);
        int k = (int) s.get(1);
        float[] allowed = new float[(int) (b * q * k)];
        for (int r = 0; r < b; r++) {
            for (int i = 0; i < q; i++) {
                long qp = (rowStarts == null ? qStart : rowStarts[r]) + i;
                for (int j = 0; j < k; j++) {
                    long kp = keyPos == null ? j : keyPos[r][j];
                    boolean causal = j <= qStart + i; // in index order, as the cache holds keys
                    allowed[(int) ((r * q + i) * k + j)] = causal && kp <= qp && kp > qp - window ? 1f : 0f;
                }
            }
        }
        return additive(manager, keyMask, allowed, q);                                              // [B,1,Q,K]
    }

    /**
     * The additive mask [B, 1, Q, K] of real keys (keyMask [B, K]) that {@code allowed} [B·Q·K] (1 = may
     * see) lets each query see: 0 where visible, {@link #MASK_VALUE} elsewhere.
     */
    public static NDArray additive(NDManager manager, NDArray keyMask, float[] allowed, long q) {
        long b = keyMask.getShape().get(0);
        long k = keyMask.getShape().get(1);
        NDArray keys = keyMask.toType(DataType.FLOAT32, false).reshape(b, 1, 1, k);                  // [B,1,1,K]
        NDArray a = keys.mul(Tensors.create(manager, allowed, new Shape(b, 1, q, k)));             // [B,1,Q,K]
        return a.sub(scalar(a, 1f)).muli(scalar(a, -MASK_VALUE));                                   // [B,1,Q,K]
    }

    /**
     * Scaled dot-product attention. q [B, H, S, K], k/v [B, H', S, K] with H a multiple of H'
     * (grouped-query), additive mask [B, 1, S, S] → [B, H, S, K].
     */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray mask, float scale) {
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).muli(scalar(q, scale)); // [B,H,S,S]
        scores = scores.addi(maskIn(mask, scores));
        NDArray probs = scores.softmax(-1);                               // [B,H,S,S]
        return probs.matMul(v);                                           // [B,H,S,K]
    }

    /** An additive mask (or bias) [B, 1|H, Q, K] in the scores' dtype; float16's at most -65504 (finite, no NaN rows). */
    static NDArray maskIn(NDArray mask, NDArray scores) {
        if (mask.getDataType() == scores.getDataType()) {
            return mask;
        }
        NDArray m = scores.getDataType() == DataType.FLOAT16 ? mask.maximum(scalar(mask, -65504f)) : mask;
        return m.toType(scores.getDataType(), false);
    }

    /** [B, S, H·K] → [B, H, S, K]. */
    public static NDArray splitHeads(NDArray x, int heads) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, s.get(2) / heads).transpose(0, 2, 1, 3);
    }

    /** [B, H, S, K] → [B, S, H·K]. */
    public static NDArray mergeHeads(NDArray x) {
        Shape s = x.getShape();
        return x.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
    }
}
