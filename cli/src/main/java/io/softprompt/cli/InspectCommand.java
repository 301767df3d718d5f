package io.softprompt.cli;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.eval.Evaluator;
import io.softprompt.infer.Member;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.DeepSite;
import io.softprompt.model.LateSite;
import io.softprompt.prompt.Inspection;
import io.softprompt.prompt.Prompt;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** softprompt inspect: each prompt vector's norm and nearest vocabulary tokens. */
@Command(exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT},
        name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Look inside a prompt: norms and nearest vocabulary tokens.",
            "Per position the vector's L2 norm and its K nearest vocabulary tokens "
                + "by cosine similarity, then how the prompt's norms compare with the vocabulary's and how many "
                + "positions are nearest to a verbalizer word (Lester et al. 2021, section 7).",
            "--project also evaluates the discrete prompt of those nearest tokens beside the prompt itself: what "
                + "a prompt's nearest words read like says little about what it does (Khashabi et al. 2021)."})
public final class InspectCommand implements Callable<Integer> {
    static final String CAUTION = "nearest tokens are a reading aid, not an explanation: a prompt can sit near "
            + "an unrelated text's embeddings and still solve its task (Khashabi et al. 2021, Prompt Waywardness)";

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--prompt", required = true, paramLabel = "FILE.sp", description = "The prompt to look inside.")
    String prompt;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--top", defaultValue = "5", paramLabel = "K", description = "Neighbours per position (default: ${DEFAULT-VALUE}).")
    int top;

    @Option(names = "--project", description = "Also replace each prompt vector by its nearest vocabulary token's "
            + "embedding and evaluate that discrete prompt beside the prompt itself on --data (Khashabi et al. 2021).")
    boolean project;

    @Option(names = "--data", paramLabel = "FILE", description = "With --project: labelled TSV, CSV or JSONL (default: the dev "
            + "file the prompt was trained with, else the task's dev sample).")
    Path data;

    @Mixin
    DataOptions dataOptions;

    @Option(names = "--batch-size", paramLabel = "B", description = "With --project: rows per forward pass (default: 32).")
    Integer batchSize;

    @Mixin
    PromptOptions.Fit fit;

    /**
     * The Waywardness check: the prompt and its projection onto the vocabulary, both evaluated on the
     * same rows with the same scorer (or by generation for text-to-text tasks).
     */
    private Map<String, Object> projection(PromptOptions.Session s, Inspection.Result r) {
        Member m = s.first();
        DataSource src = PromptOptions.devData(m, data);
        List<Encoder.Encoded> rows = m.encoder().encodeAll(dataOptions.read(src, m.task()));
        float[] projected = Inspection.projection(s.model().lm(), r);
        int b = batchSize == null ? 32 : batchSize;
        double[] acc = new double[2];
        float[][] prompts = {m.prompt().values(), projected};
        for (int k = 0; k < 2; k++) {
            if (m.task().textToText()) {
                acc[k] = Evaluator.exactMatch(s.model().lm(), s.model().tokenizer(), prompts[k], m.prompt().tokens(), rows)
                        .metrics().accuracy();
            } else {
                try (Scorer scorer = new Scorer(s.model().lm(), true)) {
                    acc[k] = Evaluator.classify(scorer, new Scorer.Slot(prompts[k], m.prompt().tokens(), m.slot().labels()),
                            rows, b).metrics().accuracy();
                }
            }
        }
        long[] nearest = new long[r.ids().length];
        for (int i = 0; i < nearest.length; i++) {
            nearest[i] = r.ids()[i][0];
        }
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("data", src.name());
        j.put("examples", rows.size());
        j.put("metric", m.task().textToText() ? "exact match" : "accuracy");
        j.put("prompt_accuracy", acc[0]);
        j.put("projected_accuracy", acc[1]);
        j.put("projected_ids", nearest);
        j.put("projected_text", Json.write(s.model().tokenizer().decode(nearest)));
        j.put("caution", Inspection.WAYWARDNESS);
        return j;
    }

    /** A deep prompt: per layer, its key and value rows' norms (mean, smallest, largest over the positions). */
    private int deep(PromptOptions.Session s, Prompt sp, PrintWriter out) {
        LanguageModel.Attention all = s.model().lm().attention();
        int first = sp.site().firstLayer(s.model().lm()); // a partial-depth prompt holds the layers from here up
        LanguageModel.Attention a = new LanguageModel.Attention(all.layers() - first, all.kvHeads(), all.headSize());
        Inspection.Deep d = Inspection.deep(a, sp.values(), sp.tokens());
        List<Map<String, Object>> layers = new ArrayList<>();
        for (int l = 0; l < a.layers(); l++) {
            double[] k = Inspection.Deep.summary(d.keyNorms()[l]);
            double[] v = Inspection.Deep.summary(d.valueNorms()[l]);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("layer", l + first);
            m.put("key_norm_mean", k[0]);
            m.put("key_norm_min", k[1]);
            m.put("key_norm_max", k[2]);
            m.put("value_norm_mean", v[0]);
            m.put("value_norm_min", v[1]);
            m.put("value_norm_max", v[2]);
            m.put("key_norms", d.keyNorms()[l]);
            m.put("value_norms", d.valueNorms()[l]);
            layers.add(m);
        }
        if (common.json) {
            Map<String, Object> j = head(s, sp);
            j.put("layers", a.layers());
            j.put("kv_width", a.kvHeads() * a.headSize());
            j.put("per_layer", layers);
            j.put("nearest_tokens", null);
            j.put("caution", DEEP_NOTE);
            out.println(Json.write(j));
            return 0;
        }
        out.printf(Locale.ROOT, "prompt %s: deep, %d tokens in each of %s layers (keys and values of %d) on %s%n", prompt,
                sp.tokens(), first == 0 ? Integer.toString(a.layers()) : "the top " + a.layers() + " of " + all.layers(),
                a.kvHeads() * a.headSize(), s.model().name());
        out.println("layer  key norm: mean (min-max)    value norm: mean (min-max)");
        for (Map<String, Object> m : layers) {
            out.printf(Locale.ROOT, "%5d  %8.3f (%.3f-%.3f)    %8.3f (%.3f-%.3f)%n", (Integer) m.get("layer"),
                    (Double) m.get("key_norm_mean"), (Double) m.get("key_norm_min"), (Double) m.get("key_norm_max"),
                    (Double) m.get("value_norm_mean"), (Double) m.get("value_norm_min"), (Double) m.get("value_norm_max"));
        }
        out.println("note: " + DEEP_NOTE);
        return 0;
    }

    /** What a deep or late prompt's JSON opens with. */
    private Map<String, Object> head(PromptOptions.Session s, Prompt sp) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("prompt", prompt);
        j.put("model", s.model().name());
        j.put("depth", sp.site().depth());
        j.put("tokens", sp.tokens());
        return j;
    }

    /** A late prompt: each vector's L2 norm and the layer it enters. */
    private int late(PromptOptions.Session s, Prompt sp, PrintWriter out) {
        int first = sp.site().firstLayer(s.model().lm());
        int layers = s.model().lm().attention().layers();
        float[] v = sp.values(); // N rows of D, row after row
        int d = sp.hidden();
        float[] norms = new float[sp.tokens()];
        for (int i = 0; i < norms.length; i++) {
            double q = 0;
            for (int c = 0; c < d; c++) {
                q += (double) v[i * d + c] * v[i * d + c];
            }
            norms[i] = (float) Math.sqrt(q);
        }
        if (common.json) {
            Map<String, Object> j = head(s, sp);
            j.put("hidden_size", d);
            j.put("entry_layer", first);
            j.put("norms", norms);
            j.put("nearest_tokens", null);
            j.put("caution", LATE_NOTE);
            out.println(Json.write(j));
            return 0;
        }
        out.printf(Locale.ROOT, "prompt %s: late, %d tokens x %d entering layer %d of %d on %s%n", prompt, sp.tokens(), d,
                first, layers, s.model().name());
        out.println("pos    norm");
        for (int i = 0; i < norms.length; i++) {
            out.printf(Locale.ROOT, "%3d  %6.3f%n", i, norms[i]);
        }
        out.println("note: " + LATE_NOTE);
        return 0;
    }

    /** Why a late prompt has no nearest tokens and no projection. */
    static final String LATE_NOTE = "a late prompt's vectors join the hidden states entering a layer above the embeddings: "
            + "nearest vocabulary tokens and the vocabulary projection (Prompt Waywardness) do not apply";

    /** Why a deep prompt has no nearest tokens and no projection. */
    static final String DEEP_NOTE = "a deep prompt's rows are keys and values inside the layers, not vectors of the embedding "
            + "space: nearest tokens and the vocabulary projection (Prompt Waywardness) do not apply";

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (top < 1) {
            throw new UserException("--top must be at least 1 (got " + top + ")");
        }
        if (!project && (data != null || batchSize != null || fit.maxLength != null)) {
            throw new UserException("--data, --batch-size and --max-length are used with --project (evaluating the projection)");
        }
        if (batchSize != null && batchSize < 1) {
            throw new UserException("--batch-size must be at least 1 (got " + batchSize + ")");
        }
        PromptOptions promptOptions = new PromptOptions();
        promptOptions.prompts = List.of(prompt);
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err, fit)) {
            Prompt sp = s.first().prompt();
            if (sp.site() instanceof DeepSite) {
                if (project) {
                    throw new UserException("--project: " + s.first().source() + " is a deep prompt (a key/value prefix in "
                            + "every layer): it has no vectors in the embedding space to project onto the vocabulary");
                }
                return deep(s, sp, out);
            }
            if (sp.site() instanceof LateSite) {
                if (project) {
                    throw new UserException("--project: " + s.first().source() + " is a late prompt (vectors entering layer "
                            + sp.site().firstLayer(s.model().lm()) + "): its vectors are not in the embedding space, "
                            + "there is no vocabulary to project them onto");
                }
                return late(s, sp, out);
            }
            Inspection.Result r = Inspection.of(s.model().lm(), sp.values(), sp.tokens(), top);
            Set<Long> verbalizer = new HashSet<>();
            for (long id : s.first().encoder().labels().first()) {
                verbalizer.add(id);
            }
            int nearVerbalizer = 0;
            List<Map<String, Object>> positions = new ArrayList<>();
            for (int i = 0; i < sp.tokens(); i++) {
                if (verbalizer.contains(r.ids()[i][0])) {
                    nearVerbalizer++;
                }
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("position", i);
                p.put("norm", r.norms()[i]);
                List<Map<String, Object>> near = new ArrayList<>();
                for (int j = 0; j < r.ids()[i].length; j++) {
                    Map<String, Object> t = new LinkedHashMap<>();
                    t.put("token", s.model().tokenizer().decode(new long[] {r.ids()[i][j]}));
                    t.put("id", r.ids()[i][j]);
                    t.put("similarity", r.similarity()[i][j]);
                    near.add(t);
                }
                p.put("nearest", near);
                positions.add(p);
            }
            Map<String, Object> projection = project ? projection(s, r) : null;
            if (common.json) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("prompt", prompt);
                j.put("model", s.model().name());
                j.put("tokens", sp.tokens());
                j.put("hidden_size", sp.hidden());
                j.put("positions", positions);
                j.put("mean_prompt_norm", r.meanPromptNorm());
                j.put("mean_vocab_norm", r.meanVocabNorm());
                j.put("positions_nearest_verbalizer", nearVerbalizer);
                if (projection != null) {
                    j.put("projection", projection);
                }
                j.put("caution", CAUTION);
                out.println(Json.write(j));
                return 0;
            }
            out.printf(Locale.ROOT, "prompt %s: %d tokens x %d on %s%n", prompt, sp.tokens(), sp.hidden(),
                    s.model().name());
            out.println("pos    norm  nearest tokens (cosine similarity)");
            for (Map<String, Object> p : positions) {
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%3d  %6.3f ", (Integer) p.get("position"),
                        (Float) p.get("norm")));
                for (Object o : (List<?>) p.get("nearest")) {
                    Map<?, ?> t = (Map<?, ?>) o;
                    sb.append(String.format(Locale.ROOT, " %s %.3f", Json.write(t.get("token")), (Float) t.get("similarity")));
                }
                out.println(sb);
            }
            out.printf(Locale.ROOT, "mean prompt norm %.3f, mean vocabulary norm %.3f (ratio %.2f)%n", r.meanPromptNorm(),
                    r.meanVocabNorm(), r.meanPromptNorm() / r.meanVocabNorm());
            out.printf(Locale.ROOT, "positions nearest to a verbalizer word: %d of %d%n", nearVerbalizer, sp.tokens());
            if (projection != null) {
                String metric = (String) projection.get("metric");
                out.printf(Locale.ROOT, "projection onto the vocabulary (each vector -> its nearest token), on %s (%d examples):%n",
                        projection.get("data"), (Integer) projection.get("examples"));
                out.printf(Locale.ROOT, "  prompt      %s %.4f%n", metric, (Double) projection.get("prompt_accuracy"));
                out.printf(Locale.ROOT, "  projected   %s %.4f   %s%n", metric, (Double) projection.get("projected_accuracy"),
                        projection.get("projected_text"));
                out.println("caution: " + Inspection.WAYWARDNESS);
            } else {
                out.println("note: " + CAUTION);
            }
        }
        return 0;
    }
}
