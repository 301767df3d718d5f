package io.softprompt.cli;

import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Npy;
import io.softprompt.prompt.PeftAdapter;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** softprompt export: a .sp prompt as a PEFT adapter folder or a NumPy .npy array. */
@Command(exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT},
        name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a prompt as a PEFT adapter folder or a NumPy .npy array.",
            "A PEFT adapter folder (PeftModel.from_pretrained loads it on the same base model): PROMPT_TUNING, "
                + "P_TUNING for a prompt trained with --reparam mlp, PREFIX_TUNING for a deep prompt, each folded and in "
                + "inference mode; or a NumPy .npy array [N, D] float32 (the layout of Lester et al.'s released prompts). "
                + "A deep prompt's layout is checked against its model (--model, else the one it names) before it is written.",
            "  softprompt export --prompt sst2.sp --to peft sst2-adapter/",
            "  softprompt export --prompt sst2.sp --to npy sst2.npy"})
public final class ExportCommand implements Callable<Integer> {
    private static final Set<String> SEQ2SEQ = Set.of("t5", "mt5", "umt5");
    private static final Set<String> MASKED = Set.of("bert", "roberta");

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", required = true, paramLabel = "FILE.sp", description = "The prompt to export.")
    Path prompt;

    @Option(names = "--to", required = true, paramLabel = "peft|npy", description = "The format.")
    String to;

    @Parameters(index = "0", paramLabel = "OUT", description = "The adapter folder (peft) or .npy file (npy).")
    Path outPath;

    @Option(names = "--force", description = "Replace OUT if it exists: a .npy file, or an adapter folder that holds "
            + "only files softprompt wrote (a folder holding anything else is refused even so).")
    boolean force;

    @Override
    public Integer call() throws Exception {
        String format = to.toLowerCase(Locale.ROOT);
        if (!format.equals("peft") && !format.equals("npy")) {
            throw new UserException("--to: unknown format '" + to + "' (expected peft or npy)");
        }
        Prompt sp = PromptFile.read(prompt);
        String what = format;
        if (format.equals("npy")) {
            sp.requireInput(prompt.toString(), "export --to npy (Lester et al.'s [N, D] layout of vectors at the input; --to peft writes "
                    + "a deep prompt in every layer as a PREFIX_TUNING adapter)");
            Outputs.file("OUT", outPath, force, Npy.writer(sp.values(), sp.tokens(), sp.hidden()));
        } else {
            if (sp.site() == PromptSite.DEEP) { // its layout (layers, key/value heads) goes into PEFT's config: check it
                try (LoadedModel m = modelOptions.load(modelOptions.locate(sp.meta(PromptFile.MODEL_NAME),
                        spec.commandLine().getErr()))) {
                    sp.checkFits(m, prompt.toString(), false);
                }
            }
            String type = sp.meta(PromptFile.MODEL_TYPE);
            String kind = type == null ? "DECODER" : SEQ2SEQ.contains(type) ? "SEQ2SEQ" : MASKED.contains(type) ? "MASKED" : "DECODER";
            try {
                what = "peft " + PeftAdapter.write("OUT", outPath, sp, kind, force);
            } catch (UserException e) {
                throw e.getMessage().startsWith("OUT") ? e : new UserException(prompt + ": " + e.getMessage());
            }
        }
        spec.commandLine().getErr().printf(Locale.ROOT, "wrote %s (%s, prompt_embeddings [%d, %d] float32)%n", outPath,
                what, sp.tokens(), sp.hidden());
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("output", outPath.toAbsolutePath().normalize().toString());
            j.put("format", format);
            j.put("tokens", sp.tokens());
            j.put("hidden_size", sp.hidden());
            spec.commandLine().getOut().println(Json.write(j));
        }
        return 0;
    }
}
