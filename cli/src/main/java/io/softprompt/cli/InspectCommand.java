package io.softprompt.cli;

import io.softprompt.prompt.Inspection;
import io.softprompt.prompt.Prompt;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
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
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Look inside a prompt: norms and nearest vocabulary tokens.",
            "Per position the vector's L2 norm and its K nearest vocabulary tokens "
                + "by cosine similarity, then how the prompt's norms compare with the vocabulary's and how many "
                + "positions are nearest to a verbalizer word (Lester et al. 2021, section 7)."})
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

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (top < 1) {
            throw new UserException("--top must be at least 1 (got " + top + ")");
        }
        PromptOptions promptOptions = new PromptOptions();
        promptOptions.prompts = List.of(prompt);
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err, null)) {
            Prompt sp = s.first().prompt();
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
            out.println("note: " + CAUTION);
        }
        return 0;
    }
}
