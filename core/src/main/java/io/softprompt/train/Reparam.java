package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A reparameterised prompt: the prompt the model sees is a pure function f(θ) of trained numbers θ,
 * folded into a plain prompt when training ends (inference, export and serving never see θ). θ is one
 * flat float32 vector [T]: E [N, D] (the prompt's own rows, started from {@code init}) and the
 * function's weights, laid out part after part in {@link #parts()} order, torch.nn.Linear layout
 * ([out, in] weights). The kinds:
 *
 * <ul>
 *   <li>{@code mlp}: PEFT's P-tuning {@code PromptEncoder} with {@code encoder_reparameterization_type=MLP}:
 *       Linear(D, H) → ReLU → Linear(H, H) → ReLU → Linear(H, D) over E, no skip.
 *   <li>{@code residual}: residual prompt tuning (Razdaibiedina et al. 2023): E + LayerNorm(Linear(H, D)(ReLU(
 *       Linear(D, H)(E)))), one MLP shared by the N rows. The LayerNorm's gain starts at 0 (the paper's at 1),
 *       so f(θ₀) = E: the run starts exactly at its init (at GPT-2's embedding scale, element std about 0.08,
 *       a unit gain would add to every row a vector about 13 times a token's norm).
 *   <li>{@code projection}: PEFT's prefix tuning with {@code prefix_projection}: Linear(D, H) → tanh →
 *       Linear(H, Wp) over E, Wp = L·2·Hkv·K the deep prompt's width.
 * </ul>
 *
 * Weights start as torch.nn.Linear's do (uniform in ±1/√fan_in, biases too), drawn from the run's seed.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden size, H the reparameterisation's hidden
 * width, Wp a deep prompt's width, T every trained number.
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

    enum Start { INIT, UNIFORM, ZERO, ONE }

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
        parts.add(new Part("embedding", new long[] {n, d}, Start.INIT, 0));
        switch (kind) {
            case MLP -> {
                linear("mlp.0", d, h);
                linear("mlp.2", h, h);
                linear("mlp.4", h, d);
            }
            case RESIDUAL -> {
                linear("mlp.0", d, h);
                linear("mlp.2", h, d);
                parts.add(new Part("norm.weight", new long[] {d}, Start.ZERO, 0));
                parts.add(new Part("norm.bias", new long[] {d}, Start.ZERO, 0));
            }
            case PROJECTION -> {
                linear("transform.0", d, h);
                linear("transform.2", h, out);
            }
        }
    }

    private void linear(String name, int in, int o) {
        parts.add(new Part(name + ".weight", new long[] {o, in}, Start.UNIFORM, in));
        parts.add(new Part(name + ".bias", new long[] {o}, Start.UNIFORM, in));
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
        return new Reparam(k, cfg.tokens(), d, h, k == Kind.PROJECTION ? lm.attention().prefixWidth() : d);
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

    /** T: every trained number. */
    int size() {
        long s = 0;
        for (Part p : parts) {
            s += p.size();
        }
        return Math.toIntExact(s);
    }

    /**
     * θ₀ [T]: E from the init's prompt [N·D], the weights as torch.nn.Linear starts them, from the seed.
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
                case ONE -> java.util.Arrays.fill(theta, at, at + len, 1f);
                case ZERO -> { }
            }
            at += len;
        }
        return theta;
    }

    /**
     * The prompt f(θ): [N, D] for mlp and residual, [N, Wp] for projection; differentiable in θ.
     *
     * @param theta θ [T] float32
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
                NDArray x = Layers.linear(e, p.get(1), p.get(2)).getNDArrayInternal().relu();               // [N, H]
                x = Layers.linear(x, p.get(3), p.get(4)).getNDArrayInternal().relu();                       // [N, H]
                yield Layers.linear(x, p.get(5), p.get(6));                                                 // [N, D]
            }
            case RESIDUAL -> {
                NDArray x = Layers.linear(e, p.get(1), p.get(2)).getNDArrayInternal().relu();               // [N, H]
                x = Layers.linear(x, p.get(3), p.get(4));                                                   // [N, D]
                yield e.add(Layers.layerNorm(x, p.get(5), p.get(6), LN_EPS));                               // [N, D]
            }
            case PROJECTION -> {
                NDArray x = Layers.linear(e, p.get(1), p.get(2)).tanh();                                    // [N, H]
                yield Layers.linear(x, p.get(3), p.get(4));                                                 // [N, Wp]
            }
        };
    }
}
