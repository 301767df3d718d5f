package io.softprompt.cli;

import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** softprompt encode: exactly what the model reads for a text, for checking a template. */
@Command(name = "encode", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Show exactly what the model reads for each text: the rendered string (the task's template, or "
                + "with --chat the model's chat template), the token ids with their pieces, where the soft prompt goes, "
                + "the positions the model sees and where the answer is read.",
            "  softprompt encode --model Qwen/Qwen3-0.6B --task sst2 --chat \"a gripping film\"",
            "  softprompt encode --task my-task.json --json < texts.txt"},
        exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT})
public final class EncodeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--task", defaultValue = "sst2", paramLabel = "NAME|FILE", description = "Built-in task name or task "
            + "JSON (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--chat", description = "Frame the text with the model's chat template (as train --chat does).")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "The chat's system message (with --chat or a chat task).")
    String system;

    @Option(names = "--text-column", paramLabel = "NAME", description = "The column the task's template names, instead of the task's.")
    String textColumn;

    @Option(names = "--tokens", defaultValue = "20", paramLabel = "N", description = "Soft-prompt tokens in front, for the "
            + "positions shown (default: ${DEFAULT-VALUE}, train's default).")
    int tokens;

    @Option(names = "--max-length", defaultValue = "128", paramLabel = "T", description = "Longest input in tokens; longer text "
            + "is cut as training cuts it (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Inputs (default: the lines of standard input).")
    List<String> texts = new ArrayList<>();

    InputStream stdin = System.in;

    @Override
    public Integer call() throws Exception {
        if (tokens < 0 || tokens > 1 << 16) {
            throw new UserException("--tokens must be between 0 and 65536 (got " + tokens + ")");
        }
        if (maxLength < 2 || maxLength > 1 << 20) {
            throw new UserException("--max-length must be between 2 and 1048576 (got " + maxLength + ")");
        }
        Task t = Task.resolve(task).withColumns(textColumn, null).framed(chat, system);
        List<String> inputs = TextInputs.of(texts, stdin);
        PrintWriter out = spec.commandLine().getOut();
        ModelLocator.Located where = modelOptions.locate(null, spec.commandLine().getErr());
        try (LoadedModel model = modelOptions.load(where)) {
            Encoder enc = new Encoder(model.tokenizer(), t, maxLength, model.lm(), model::chatTemplate);
            boolean decoderStep = model.lm().kind() == LanguageModel.Kind.SEQ2SEQ;
            for (String text : inputs) {
                Encoder.Shown s = enc.show(text);
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("text", text);
                j.put("rendered", s.rendered());
                j.put("ids", s.ids());
                j.put("tokens", s.pieces());
                j.put("prompt_at", 0);
                j.put("prompt_tokens", tokens);
                j.put("positions", IntStream.range(tokens, tokens + s.ids().length).boxed().toList());
                j.put("decision_at", s.decisionAt());
                j.put("decision_in", decoderStep ? "decoder" : "input");
                j.put("decision_position", decoderStep ? 0 : tokens + s.decisionAt());
                if (!t.textToText()) {
                    Map<String, Object> labels = new LinkedHashMap<>();
                    long[] first = enc.labelTokens();
                    for (int c = 0; c < first.length; c++) {
                        Map<String, Object> w = new LinkedHashMap<>();
                        w.put("word", t.words().get(c));
                        w.put("token", first[c]);
                        w.put("piece", model.tokenizer().decode(new long[] {first[c]}));
                        labels.put(t.labels().get(c), w);
                    }
                    j.put("labels", labels);
                }
                if (common.json) { // one object a text: text, rendered, ids, tokens, prompt_at, positions, decision_at, labels
                    out.println(Json.write(j));
                } else {
                    print(out, j, s, decoderStep);
                }
            }
        }
        out.flush();
        return 0;
    }

    @SuppressWarnings("unchecked")
    private void print(PrintWriter out, Map<String, Object> j, Encoder.Shown s, boolean decoderStep) {
        out.printf("text:      %s%n", j.get("text"));
        out.printf("rendered:  %s%n", Json.write(s.rendered()));
        out.printf(Locale.ROOT, "prompt:    %d soft tokens in front of token 0 (positions 0-%d)%n", tokens, tokens - 1);
        out.printf(Locale.ROOT, "tokens:    %d (positions %d-%d)%n", s.ids().length, tokens, tokens + s.ids().length - 1);
        for (int i = 0; i < s.ids().length; i++) {
            out.printf(Locale.ROOT, "  %4d  pos %4d  id %7d  %s%s%n", i, tokens + i, s.ids()[i], Json.write(s.pieces().get(i)),
                    !decoderStep && i == s.decisionAt() ? "   <- the answer is read here" : "");
        }
        if (decoderStep) {
            out.println("decision:  the decoder's first step (the encoder reads the tokens above)");
        }
        if (j.containsKey("labels")) {
            List<String> words = new ArrayList<>();
            ((Map<String, Map<String, Object>>) j.get("labels")).forEach((label, w) -> words.add(label + " " + Json.write(w.get("word"))
                    + " (id " + w.get("token") + ")"));
            out.println("answers:   " + String.join(", ", words));
        }
        out.println();
    }
}
