package io.softprompt.model.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.KvCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.ModelFolder;
import io.softprompt.model.Span;
import io.softprompt.model.Specials;
import io.softprompt.model.TextTokenizer;
import io.softprompt.model.WeightStore;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * GPT-2 (transformers GPT2LMHeadModel): learned absolute positions, pre-LayerNorm blocks, fused QKV
 * Conv1D, an LM head tied to the token embeddings (or lm_head.weight when config.json unties it).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, T tokens, N prompt tokens, S = N + T, D hidden (n_embd),
 * H heads (n_head), K head size (D / H), F feed-forward width (n_inner), V vocabulary, W learned positions
 * (n_positions), Q new and P cached positions, M selected rows, C selected ids.
 *
 * <p>Hugging Face tensor names: {@code transformer.wte.weight} [V, D], {@code transformer.wpe.weight}
 * [W, D], per layer {@code transformer.h.L.{ln_1,attn.c_attn,attn.c_proj,ln_2,mlp.c_fc,mlp.c_proj}},
 * {@code transformer.ln_f}. Conv1D weights are stored [in, out]. The original OpenAI checkpoints omit
 * the {@code transformer.} prefix; both are accepted.
 */
public final class Gpt2Model implements LanguageModel {
    private static final Set<String> ACTIVATIONS = Set.of("gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu", "relu");

    /** One transformer block's frozen weights. */
    private record Block(
            NDArray ln1W, NDArray ln1B,       // [D]
            NDArray attnW, NDArray attnB,     // [D, 3D], [3D]
            NDArray projW, NDArray projB,     // [D, D], [D]
            NDArray ln2W, NDArray ln2B,       // [D]
            NDArray fcW, NDArray fcB,         // [D, F], [F]
            NDArray fcProjW, NDArray fcProjB, // [F, D], [D]
            float scale) {}

    private final Gpt2Config config;
    private final Dims dims;
    private final NDArray wte;   // [V, D]
    private final NDArray wpe;   // [W, D]
    private final NDArray lnfW;  // [D]
    private final NDArray lnfB;  // [D]
    private final NDArray head;  // [V, D] (wte when tied)
    private final NDArray headT; // [D, V] view, made once so no call leaks a transpose into the model's manager
    private final List<Block> blocks;
    private final UnaryOperator<NDArray> activation;

    private final Specials specials;

    private Gpt2Model(Gpt2Config config, NDArray wte, NDArray wpe, NDArray lnfW, NDArray lnfB, NDArray head,
            List<Block> blocks, Specials specials) {
        this.config = config;
        this.dims = new Dims("gpt2", Kind.DECODER, config.nEmbd(), config.vocabSize(), config.nPositions(),
                new Attention(config.nLayer(), config.nHead(), config.nEmbd() / config.nHead()));
        this.specials = specials;
        this.wte = wte;
        this.wpe = wpe;
        this.lnfW = lnfW;
        this.lnfB = lnfB;
        this.head = head;
        this.headT = head.transpose();
        this.blocks = blocks;
        this.activation = Layers.activation(config.activationFunction());
    }

    public static Gpt2Model load(ModelFolder folder, NDManager manager, TextTokenizer tok) {
        Gpt2Config c = folder.bind(Gpt2Config.class);
        if (!ACTIVATIONS.contains(c.activationFunction())) {
            throw new UserException(folder.configFile() + ": activation_function '" + c.activationFunction()
                    + "' is not supported (supported: " + String.join(", ", ACTIVATIONS) + ")");
        }
        if (c.nEmbd() % c.nHead() != 0) {
            throw new UserException(folder.configFile() + ": n_embd " + c.nEmbd() + " is not a multiple of n_head "
                    + c.nHead());
        }
        WeightStore w = folder.weights();
        long d = c.nEmbd();
        long f = c.inner();
        NDArray wte = w.loadAnyFloat32(manager, new long[] {c.vocabSize(), d}, "transformer.wte.weight", "wte.weight");
        NDArray wpe = t(w, manager, "wpe.weight", c.nPositions(), d);
        NDArray lnfW = t(w, manager, "ln_f.weight", d);
        NDArray lnfB = t(w, manager, "ln_f.bias", d);
        NDArray head = wte;
        if (!c.tieWordEmbeddings() && w.has("lm_head.weight")) {
            head = w.load("lm_head.weight", manager, c.vocabSize(), d);
        }
        List<Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.nLayer(); l++) {
            String p = "h." + l + ".";
            float scale = c.scaleAttnWeights() ? (float) (1.0 / Math.sqrt((double) d / c.nHead())) : 1f;
            if (c.scaleAttnByInverseLayerIdx()) {
                scale /= (l + 1);
            }
            blocks.add(new Block(
                    t(w, manager, p + "ln_1.weight", d), t(w, manager, p + "ln_1.bias", d),
                    t(w, manager, p + "attn.c_attn.weight", d, 3 * d), t(w, manager, p + "attn.c_attn.bias", 3 * d),
                    t(w, manager, p + "attn.c_proj.weight", d, d), t(w, manager, p + "attn.c_proj.bias", d),
                    t(w, manager, p + "ln_2.weight", d), t(w, manager, p + "ln_2.bias", d),
                    t(w, manager, p + "mlp.c_fc.weight", d, f), t(w, manager, p + "mlp.c_fc.bias", f),
                    t(w, manager, p + "mlp.c_proj.weight", f, d), t(w, manager, p + "mlp.c_proj.bias", d),
                    scale));
        }
        long eos = folder.config().path("eos_token_id").asLong(50256);
        long[] prefix = Specials.decoderPrefix(tok, Specials.tokenizerConfig(folder.path()), folder.config(), false);
        return new Gpt2Model(c, wte, wpe, lnfW, lnfB, head, blocks, Specials.decoder(prefix, eos, eos));
    }

    /** A GPT-2 tensor under either naming: "transformer.X" (GPT2LMHeadModel) or "X" (GPT2Model). */
    private static NDArray t(WeightStore w, NDManager m, String name, long... shape) {
        return w.loadAny(m, shape, "transformer." + name, name);
    }

    public Gpt2Config config() {
        return config;
    }

    @Override
    public Dims dims() {
        return dims;
    }

    @Override
    public Specials specials() {
        return specials;
    }

    @Override
    public DataType dtype() {
        return lnfW.getDataType();
    }

    @Override
    public NDArray embeddings() {
        return wte;
    }

    @Override
    public NDArray embed(NDArray ids) {
        return Layers.matchType(Layers.embedding(ids, wte), lnfW); // [B, T, D] in the model's precision
    }


    @Override
    public NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span) {
        NDManager outer = embeds.getManager();
        long q = embeds.getShape().get(1);
        long start = KvCache.start(cache);
        if (KvCache.end(cache, (int) q) > config.nPositions()) {
            throw new UserException("sequence of " + KvCache.end(cache, (int) q) + " positions (prompt + tokens) exceeds the "
                    + "model's n_positions " + config.nPositions() + "; lower {{max_length}}, {{tokens}} or {{max_new_tokens}}");
        }
        NDArray attnMask = Layers.additiveMask(outer, keyMask, true, start, q);          // [B, 1, Q, P+Q]
        NDArray bareMask = KvCache.bareMask(cache, attnMask);                            // [B, 1, Q, Q+P−Pb]
        int[] rowStarts = KvCache.rowStarts(cache);
        NDArray x;
        if (!span.bottom()) {
            x = embeds;                                                                   // [B, Q, D] entering span.from()
        } else if (rowStarts == null) {
            x = Layers.scoped(embeds, false, e -> Layers.matchType(e, lnfW)   // in the model's precision
                    .add(wpe.get(e.getManager(), new NDIndex(start + ":" + (start + q))))); // [B, Q, D]
        } else { // rows continue prefixes of different lengths: row i's tokens sit at rowStarts[i]..
            long b = embeds.getShape().get(0);
            long[] pos = KvCache.positions(rowStarts, (int) q, 0);
            x = Layers.scoped(embeds, false, e -> Layers.matchType(e, lnfW).add(Layers.embedding(
                    Tensors.create(e.getManager(), pos, new Shape(b, q)), wpe)));     // [B, Q, D]
        }
        for (int l = span.from(); l < span.end(blocks.size()); l++) {
            int layer = l;
            NDArray mask = KvCache.bare(cache, l) ? bareMask : attnMask;
            x = Layers.scoped(x, x != embeds, in -> block(blocks.get(layer), in, mask, cache, layer));
        }
        if (!span.top(blocks.size())) {
            return x;                                                                     // [B, Q, D]
        }
        if (cache != null) {
            cache.advance((int) q);
        }
        float eps = config.layerNormEpsilon().floatValue();
        return Layers.scoped(x, x != embeds, in -> Layers.layerNorm(in, lnfW, lnfB, eps)); // [B, Q, D]
    }

    /**
     * The last block for M rows only (flat indices b·S + s): keys and values of every position, then
     * the attention output, MLP and final norm of the M query rows alone. Decision-position objectives
     * read one row per example, so this skips the last layer's output work for the other S − 1.
     */
    @Override
    public NDArray forwardRows(NDArray embeds, NDArray keyMask, long[] flat) {
        NDManager outer = embeds.getManager();
        long s = embeds.getShape().get(1);
        if (s > config.nPositions()) {
            return LanguageModel.super.forwardRows(embeds, keyMask, flat); // the one error message
        }
        NDArray attnMask = Layers.additiveMask(outer, keyMask, true, 0, s);               // [B, 1, S, S]
        NDArray x = Layers.scoped(embeds, false, e -> Layers.matchType(e, lnfW)
                .add(wpe.get(e.getManager(), new NDIndex("0:" + s))));                  // [B, S, D]
        for (int l = 0; l < blocks.size() - 1; l++) {
            int layer = l;
            x = Layers.scoped(x, true, in -> block(blocks.get(layer), in, attnMask, null, layer));
        }
        Block last = blocks.get(blocks.size() - 1);
        long[] allowed = keyMask.toLongArray();
        return Layers.scoped(x, true, in -> lastRows(last, in, allowed, flat));         // [M, D]
    }

    private NDArray lastRows(Block b, NDArray x, long[] keyMask, long[] flat) {
        NDManager m = x.getManager();
        float eps = config.layerNormEpsilon().floatValue();
        int heads = config.nHead();
        long bs = x.getShape().get(0);
        long s = x.getShape().get(1);
        long d = x.getShape().get(2);
        int rows = flat.length;
        NDArray h = Layers.layerNorm(x, b.ln1W(), b.ln1B(), eps);        // [B, S, D]
        var parts = Layers.linearIO(h, b.attnW(), b.attnB()).split(3, 2); // [B, S, D] ×3
        long[] batchOf = new long[rows];
        float[] visible = new float[(int) (rows * s)];                  // query i sees key j: real and j ≤ its position
        for (int i = 0; i < rows; i++) {
            batchOf[i] = flat[i] / s;
            long pos = flat[i] % s;
            for (int j = 0; j <= pos; j++) {
                visible[(int) (i * s + j)] = keyMask[(int) (batchOf[i] * s + j)] != 0 ? 1f : 0f;
            }
        }
        NDArray of = Tensors.create(m, batchOf);                                          // [M]
        NDArray q = Layers.splitHeads(Layers.rows(parts.get(0), flat).reshape(rows, 1, d), heads);                  // [M, H, 1, K]
        NDArray k = Layers.splitHeads(Layers.embedding(of, parts.get(1).reshape(bs, s * d)).reshape(rows, s, d), heads); // [M, H, S, K]
        NDArray v = Layers.splitHeads(Layers.embedding(of, parts.get(2).reshape(bs, s * d)).reshape(rows, s, d), heads); // [M, H, S, K]
        NDArray allowed = Tensors.create(m, visible, new Shape(rows, 1, 1, s));                                   // [M, 1, 1, S]
        NDArray mask = allowed.sub(Layers.scalar(allowed, 1f)).muli(Layers.scalar(allowed, -Layers.MASK_VALUE));   // [M, 1, 1, S]
        NDArray a = Layers.mergeHeads(Layers.attention(q, k, v, mask, b.scale())).reshape(rows, d);              // [M, D]
        NDArray x1 = Layers.rows(x, flat).add(Layers.linearIO(a, b.projW(), b.projB()));                      // [M, D]
        NDArray h2 = Layers.layerNorm(x1, b.ln2W(), b.ln2B(), eps);                                             // [M, D]
        NDArray mlp = activation.apply(Layers.linearIO(h2, b.fcW(), b.fcB()));                                  // [M, F]
        NDArray out = x1.add(Layers.linearIO(mlp, b.fcProjW(), b.fcProjB()));                                   // [M, D]
        return Layers.layerNorm(out, lnfW, lnfB, eps);                                                          // [M, D]
    }

    private NDArray block(Block b, NDArray x, NDArray mask, KvCache cache, int layer) {
        float eps = config.layerNormEpsilon().floatValue();
        int heads = config.nHead();
        NDArray h = Layers.layerNorm(x, b.ln1W(), b.ln1B(), eps);        // [B, Q, D]
        NDArray qkv = Layers.linearIO(h, b.attnW(), b.attnB());          // [B, Q, 3D]
        var parts = qkv.split(3, 2);
        NDArray q = Layers.splitHeads(parts.get(0), heads);              // [B, H, Q, K]
        NDArray k = Layers.splitHeads(parts.get(1), heads);              // [B, H, Q, K]
        NDArray v = Layers.splitHeads(parts.get(2), heads);              // [B, H, Q, K]
        if (cache != null) {
            var kv = cache.append(layer, k, v);
            k = kv.get(0);                                               // [B, H, P+Q, K]
            v = kv.get(1);                                               // [B, H, P+Q, K]
        }
        NDArray a = Layers.mergeHeads(Layers.attention(q, k, v, mask, b.scale())); // [B, Q, D]
        NDArray x1 = x.add(Layers.linearIO(a, b.projW(), b.projB()));    // [B, Q, D]
        NDArray h2 = Layers.layerNorm(x1, b.ln2W(), b.ln2B(), eps);      // [B, Q, D]
        NDArray m = activation.apply(Layers.linearIO(h2, b.fcW(), b.fcB())); // [B, Q, F]
        return x1.add(Layers.linearIO(m, b.fcProjW(), b.fcProjB()));     // [B, Q, D]
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return Layers.head(hidden, headT);                                // [M, V] float32
    }

    @Override
    public NDArray logits(NDArray hidden, NDArray ids) {
        NDArray rows = Layers.embedding(ids, head);                      // [C, D]
        return Layers.head(hidden, rows.transpose());                    // [M, C] float32
    }
}
