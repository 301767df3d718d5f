package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A reparameterised prompt: the prompt the model sees is a pure function f(θ) of trained numbers θ,
 * folded into a plain prompt when training ends (inference, export and serving never see θ). θ is one
 * flat float32 vector [Z]: E [N, D] (the prompt's own rows, started from {@code init}) and the
 * function's weights, laid out part after part in {@link #parts()} order (E, W1, b1, W2, b2, ..., then the
 * residual's LayerNorm gain and shift), torch.nn.Linear layout ([out, in] weights). The kinds:
 *
 * <ul>
 *   <li>{@code mlp}: PEFT's P-tuning {@code PromptEncoder} with {@code encoder_reparameterization_type=MLP}:
 *       Linear(D, G) → ReLU → Linear(G, G) → ReLU → Linear(G, D) over E, no skip.
 *   <li>{@code residual}: residual prompt tuning (Razdaibiedina et al. 2023): E + LayerNorm(Linear(G, D)(ReLU(
 *       Linear(D, G)(E)))), one MLP shared by the N rows. The LayerNorm's gain starts at 0 (the paper's at 1),
 *       so f(θ₀) = E: the run starts exactly at its init (at GPT-2's embedding scale, element std about 0.08,
 *       a unit gain would add to every row a vector about 13 times a token's norm).
 *   <li>{@code projection}: PEFT's prefix tuning with {@code prefix_projection}: Linear(D, G) → tanh →
 *       Linear(G, L·2·Hkv·K) over E: the deep prompt's table.
 * </ul>
 *
 * Weights start as torch.nn.Linear's do (uniform in ±1/√fan_in, biases too), drawn from the run's seed.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden size, G the reparameterisation's hidden
 * width, L layers, Hkv key/value heads, K head size, O the prompt's width (D, or L·2·Hkv·K), Z every trained number.
 */
final class Reparam {
    /** The kinds, as configs name them. */
    enum Kind { MLP, RESIDUAL, PROJECTION }

    /** One part of θ: its name (as a checkpoint reader sees it), shape, and how it starts. */
    record Part(String name, long[] shape, Start start, int fanIn) {
        long size() {
            long s = 1;
            for (long x : shape) {
                s *= x;
            }
            return s;
        }
    }

    enum Start { INIT, UNIFORM, ZERO }

    /**
     * The residual network's default learning-rate ceiling. Its LayerNorm gain and shift and its MLP are
     * shared by all N rows, so each of their Adam steps moves every row at once; at the prompt's own rate
     * above 0.01 that made residual tuning measurably slower than plain on sentiment-lm (paired by seed,
     * lr 0.03–0.3: dev curve 0.006–0.0095 lower, about two standard errors), and level with it at 0.01
     * (docs/lr-range.md).
     */
    static final double RESIDUAL_LR = 0.01;

    /** The LayerNorm's epsilon (torch.nn.LayerNorm's default). */
    static final float LN_EPS = 1e-5f;

    final Kind kind;
    final int n;
    final int d;
    final int h;
    final int out;
    private final List<Part> parts = new ArrayList<>();

    Reparam(Kind kind, int n, int d, int h, int out) {
        this.kind = kind;
        this.n = n;
        this.d = d;
        this.h = h;
        this.out = out;
        parts.add(new Part("E", new long[] {n, d}, Start.INIT, 0));
        switch (kind) {
            case MLP -> {
                linear("1", d, h);
                linear("2", h, h);
                linear("3", h, d);
            }
            case RESIDUAL -> {
                linear("1", d, h);
                linear("2", h, d);
                parts.add(new Part("gain", new long[] {d}, Start.ZERO, 0));
                parts.add(new Part("shift", new long[] {d}, Start.ZERO, 0));
            }
            case PROJECTION -> {
                linear("1", d, h);
                linear("2", h, out);
            }
        }
    }

    /**
     * Each trained number's learning rate relative to the prompt's: 1 for E, {@code network} for the
     * rest (the linear layers, the LayerNorm).
     *
     * @param network the network's rate ÷ the prompt's
     * @return [Z]
     */
    float[] rateScale(float network) {
        float[] s = new float[(int) size()];
        Arrays.fill(s, network);
        Arrays.fill(s, 0, n * d, 1f); // E comes first in θ
        return s;
    }

    /** Linear k: its weight Wk [out, in] and bias bk [out]. */
    private void linear(String k, int in, int o) {
        parts.add(new Part("W" + k, new long[] {o, in}, Start.UNIFORM, in));
        parts.add(new Part("b" + k, new long[] {o}, Start.UNIFORM, in));
    }

    /**
     * The run's reparameterisation, or null for a plain prompt.
     *
     * @param cfg the resolved config ({@code reparam}, {@code prefix_projection}, {@code reparam_hidden})
     * @param lm the model (D, and a deep prompt's width)
     * @return the reparameterisation, or null
     */
    static Reparam of(TrainConfig cfg, LanguageModel lm) {
        Kind k = kind(cfg);
        if (k == null) {
            return null;
        }
        int d = lm.hiddenSize();
        int h = cfg.reparamHidden() != null ? cfg.reparamHidden() : d;
        Reparam r = new Reparam(k, cfg.tokens(), d, h, k == Kind.PROJECTION ? lm.attention().prefixWidth() : d);
        if (r.longSize() > MAX_SIZE) { // counted in long from the shapes alone: nothing is allocated yet
            throw new UserException("{{reparam_hidden}} " + h + ": the network would hold " + r.longSize() + " numbers, past the "
                    + MAX_SIZE + " one run can train; lower {{reparam_hidden}}");
        }
        return r;
    }

    /** The most numbers θ may hold: it travels as one float[] (checkpoints, best.sp). */
    static final long MAX_SIZE = Integer.MAX_VALUE - 8;

    /**
     * The network's peak learning rate: {@code reparam_lr} when set; for residual the prompt's rate but at
     * most {@link #RESIDUAL_LR}; else the prompt's. A pure function of the config.
     *
     * @param cfg the resolved config
     * @param lr the prompt's peak rate
     * @return the network's rate, or null where it is the prompt's own
     */
    static Double networkLr(TrainConfig cfg, double lr) {
        if (cfg.reparamLr() != null) {
            return cfg.reparamLr();
        }
        return kind(cfg) == Kind.RESIDUAL && lr > RESIDUAL_LR ? RESIDUAL_LR : null;
    }

    /** The config's kind, or null for none. */
    static Kind kind(TrainConfig cfg) {
        if (cfg.prefixProjection()) {
            return Kind.PROJECTION;
        }
        return switch (parse(cfg.reparam())) {
            case "mlp" -> Kind.MLP;
            case "residual" -> Kind.RESIDUAL;
            default -> null;
        };
    }

    /** A {@code reparam} value checked: none, mlp or residual. */
    static String parse(String name) {
        String v = name == null ? "none" : name.toLowerCase(Locale.ROOT);
        if (!v.equals("none") && !v.equals("mlp") && !v.equals("residual")) {
            throw new UserException("{{reparam}} must be none, mlp or residual (got " + UserException.quote(name) + ")");
        }
        return v;
    }

    List<Part> parts() {
        return parts;
    }

    /** Z: every trained number (checked by {@link #of} to fit an int). */
    int size() {
        return Math.toIntExact(longSize());
    }

    /** Z counted in long, for the check. */
    long longSize() {
        long s = 0;
        for (Part p : parts) {
            s += p.size();
        }
        return s;
    }

    /**
     * θ₀ [Z]: E from the init's prompt [N·D], the weights as torch.nn.Linear starts them, from the seed.
     *
     * @param init the initial prompt's rows [N·D]
     * @param seed the run's seed
     * @return θ₀
     */
    float[] start(float[] init, long seed) {
        float[] theta = new float[size()];
        Random r = new Random(seed * 0x9E3779B97F4A7C15L + 0x5EED);
        int at = 0;
        for (Part p : parts) {
            int len = (int) p.size();
            switch (p.start()) {
                case INIT -> System.arraycopy(init, 0, theta, at, len);
                case UNIFORM -> {
                    double bound = 1.0 / Math.sqrt(p.fanIn());
                    for (int i = 0; i < len; i++) {
                        theta[at + i] = (float) ((r.nextDouble() * 2 - 1) * bound);
                    }
                }
                case ZERO -> { }
            }
            at += len;
        }
        return theta;
    }

    /**
     * The prompt f(θ): [N, D] for mlp and residual, [N, L·2·Hkv·K] for projection; differentiable in θ.
     *
     * @param theta θ [Z] float32
     * @return the prompt
     */
    NDArray apply(NDArray theta) {
        List<NDArray> p = new ArrayList<>();
        long at = 0;
        for (Part part : parts) {
            p.add(theta.get(new NDIndex("{}:{}", at, at + part.size())).reshape(new Shape(part.shape())));
            at += part.size();
        }
        NDArray e = p.get(0);                                                                             // [N, D]
        return switch (kind) {
            case MLP -> {
                NDArray x = Layers.linear(e, p.get(1), p.get(2)).getNDArrayInternal().relu();               // [N, G]
                x = Layers.linear(x, p.get(3), p.get(4)).getNDArrayInternal().relu();                       // [N, G]
                yield Layers.linear(x, p.get(5), p.get(6));                                                 // [N, D]
            }
            case RESIDUAL -> {
                NDArray x = Layers.linear(e, p.get(1), p.get(2)).getNDArrayInternal().relu();               // [N, G]
                x = Layers.linear(x, p.get(3), p.get(4));                                                   // [N, D]
                yield e.add(Layers.layerNorm(x, p.get(5), p.get(6), LN_EPS));                               // [N, D]
            }
            case PROJECTION -> {
                NDArray x = Layers.linear(e, p.get(1), p.get(2)).tanh();                                    // [N, G]
                yield Layers.linear(x, p.get(3), p.get(4));                                                 // [N, L·2·Hkv·K]
            }
        };
    }
}
