package io.softprompt.cli;

import io.softprompt.api.SoftPrompt;
import io.softprompt.hub.ModelLocator;
import io.softprompt.model.LanguageModel;
import io.softprompt.prompt.Embeds;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** softprompt embed: what the model computes on (prompt rows + input embeddings), for another engine. */
@Command(name = "embed", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write, per text, the prompt's rows followed by the model's input embeddings of the framed text "
                + "([N + T, D] float32): exactly what the model computes on, for an engine fed embeddings.",
            "--format vllm prints one JSON object a text whose prompt_embeds is base64 of a torch.save'd tensor, as vLLM's "
                + "Completions API takes it (serve with --enable-prompt-embeds; decoder LMs only). npy and safetensors "
                + "write one file a text into --output. Deep prompts have no such rows and are refused.",
            "With --chat the text is framed by the model's chat template: the task's template as the user message, the assistant's turn opened.",
            "  softprompt embed --prompt sst2.sp --format vllm \"a gripping film\"",
            "  softprompt embed --prompt sst2.sp --format npy --output embeds/ < texts.txt"},
        exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT})
public final class EmbedCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", required = true, paramLabel = "FILE.sp", description = "An input prompt.")
    Path prompt;

    @Option(names = "--format", required = true, paramLabel = "vllm|npy|safetensors",
            description = "vllm: JSON lines with base64 prompt_embeds; npy or safetensors: one file a text in --output.")
    String format;

    @Option(names = "--output", paramLabel = "DIR", description = "Where npy and safetensors files go (0.npy, 1.npy, ...).")
    Path output;

    @Option(names = "--force", description = "Replace --output when it holds only files softprompt wrote.")
    boolean force;

    @Option(names = "--chat", description = "Frame the text with the model's chat template (a prompt trained with --chat "
            + "already is).")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "The chat's system message (with --chat).")
    String system;

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "Inputs (default: the lines of standard input).")
    List<String> texts = new ArrayList<>();

    InputStream stdin = System.in;

    @Override
    public Integer call() throws Exception {
        String f = format.toLowerCase(Locale.ROOT);
        if (!List.of("vllm", "npy", "safetensors").contains(f)) {
            throw new UserException("--format: unknown format " + UserException.quote(format) + " (vllm, npy or safetensors)");
        }
        if (f.equals("vllm") == (output != null)) {
            throw new UserException(f.equals("vllm") ? "--output: --format vllm prints to standard output"
                    : "--format " + f + " needs --output DIR");
        }
        Prompt sp = PromptFile.read(prompt);
        if (system != null && !chat && !"true".equals(sp.meta(PromptFile.CHAT))) {
            throw new UserException("--system is a chat's system message: add --chat");
        }
        if (chat || system != null) {
            Map<String, String> framing = new LinkedHashMap<>();
            framing.put(PromptFile.CHAT, "true");
            if (system != null) {
                framing.put(PromptFile.SYSTEM, system);
            }
            sp = sp.withMetadata(framing);
        }
        sp.requireInput(prompt.toString(), "embed (an engine fed inputs_embeds, such as vLLM, has no place for a "
                + "prefix in the layers or a prompt entering above the first)");
        if (f.equals("npy") || f.equals("safetensors")) {
            Outputs.checkFolder("--output", output, force, Outputs.Legacy.NONE);
        }
        List<String> inputs = TextInputs.of(texts, stdin);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ModelLocator.Located where = modelOptions.locate(sp.meta(PromptFile.MODEL_NAME), err);
        try (SoftPrompt model = SoftPrompt.of(modelOptions.load(where))) {
            sp.checkFits(model.model(), prompt.toString(), false);
            if (f.equals("vllm") && model.model().lm().kind() != LanguageModel.Kind.DECODER) {
                throw new UserException("--format vllm: vLLM's prompt_embeds feeds decoder LMs; " + where.name() + " is "
                        + model.model().lm().modelType() + " (npy or safetensors write the same rows)");
            }
            Map<String, AtomicFiles.Writer> files = new LinkedHashMap<>();
            for (int k = 0; k < inputs.size(); k++) {
                Embeds e = model.embed(sp, inputs.get(k));
                switch (f) {
                    case "vllm" -> {
                        Map<String, Object> j = new LinkedHashMap<>();
                        j.put("text", inputs.get(k));
                        j.put("prompt_embeds", e.vllm());
                        j.put("shape", List.of(e.rows(), e.dim()));
                        j.put("prompt_rows", e.promptRows());
                        out.println(Json.write(j));
                    }
                    case "npy" -> files.put(k + ".npy", e.npy());
                    default -> files.put(k + ".safetensors", e.safetensors());
                }
            }
            if (!files.isEmpty()) {
                Outputs.folder("--output", output, force, Outputs.Legacy.NONE, files);
                err.printf(Locale.ROOT, "wrote %d %s file(s) into %s (prompt rows then input embeddings, float32)%n",
                        files.size(), f, output);
            }
        }
        out.flush();
        return 0;
    }
}
