package io.softprompt.cli;

import io.softprompt.data.Task;
import io.softprompt.hub.ModelLocator;
import io.softprompt.infer.Member;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.prompt.Npy;
import io.softprompt.prompt.PeftAdapter;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** softprompt import: a PEFT adapter folder or a .npy array as a .sp prompt for a model. */
@Command(exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT},
        name = "import", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn a PEFT adapter folder or a .npy array into a .sp prompt for a model.",
            "The source holds a prompt [N, D] (PROMPT_TUNING, P_TUNING, .npy) or a deep prompt [N, L·2·Hkv·K] "
                + "(PREFIX_TUNING). The shape is checked against the model; the task (template and verbalizer) comes "
                + "from the source when it carries one (adapters exported by softprompt), else from --task.",
            "  softprompt import sst2-adapter/ --model gpt2 --output sst2.sp",
            "  softprompt import prompt.npy --model t5-base --task sst2 --output sst2.sp"})
public final class ImportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Parameters(index = "0", paramLabel = "SOURCE", description = "A PEFT adapter folder, a hub id of one (org/name[@revision]: downloaded into the Hugging "
            + "Face cache as models are), or a .npy file.")
    Path source;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE.sp", description = "The prompt to write.")
    Path output;

    @Option(names = "--task", paramLabel = "NAME|FILE", description = "The task the prompt solves (template, verbalizer).")
    String task;

    @Option(names = "--force", description = "Replace an existing output (only a file softprompt can replace).")
    boolean force;

    @Option(names = "--any-model", description = "Import even if the source names another model's fingerprint.")
    boolean anyModel;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Outputs.checkFile("--output", output, force);
        float[] values;
        int n;
        int d;
        Map<String, String> carried = new LinkedHashMap<>();
        String init;
        PeftAdapter.Adapter prefix = null; // a PREFIX_TUNING adapter: a deep prompt
        String named = source.toString();
        Path folder = source;
        if (ModelLocator.isHubId(named)) { // org/name[@revision]: downloaded into the Hugging Face cache, as models are
            folder = modelOptions.locator(err).adapter(named);
        }
        if (Files.isDirectory(folder)) {
            source = folder;
            if (!PeftAdapter.isAdapter(source)) {
                throw new UserException(source + ": not a PEFT adapter folder (no " + PeftAdapter.CONFIG + ")");
            }
            PeftAdapter.Adapter a = PeftAdapter.read(source);
            values = a.values();
            n = a.tokens();
            d = a.dim();
            carried.putAll(a.metadata());
            init = "peft:" + a.config().path("prompt_tuning_init").asText(a.config().path("peft_type").asText());
            prefix = a.deep() ? a : null;
            if (a.note() != null) {
                err.println("note: " + a.note());
            }
        } else if (source.toString().endsWith(".npy")) {
            Npy.Array a = Npy.read(source);
            values = a.values();
            n = a.rows();
            d = a.cols();
            init = "imported";
        } else if (!Files.exists(source)) {
            throw new UserException(source + ": not found");
        } else {
            throw new UserException(source + ": expected a PEFT adapter folder or a .npy file");
        }
        for (float v : values) {
            if (!Float.isFinite(v)) {
                throw new UserException(source + ": the prompt holds non-finite values (NaN or Inf)");
            }
        }
        Task t = task != null ? Task.resolve(task) : null;
        if (t == null && carried.containsKey(PromptFile.TASK)) {
            t = new Prompt(values, n, d, carried).task(source.toString());
        }
        if (t == null) {
            throw new UserException(source + ": carries no task; pass --task NAME|FILE for its template and verbalizer");
        }
        ModelLocator.Located where = modelOptions.locate(carried.get(PromptFile.MODEL_NAME), err);
        try (LoadedModel model = modelOptions.load(where)) {
            if (prefix != null) {
                PeftAdapter.requireFits(prefix, model.lm(), where.name(), source.toString());
            } else if (d != model.lm().hiddenSize()) {
                throw new UserException(source + ": prompt is [" + n + ", " + d + "] but model " + where.name()
                        + " has hidden size " + model.lm().hiddenSize());
            }
            String fp = carried.get(PromptFile.MODEL_FINGERPRINT);
            if (fp != null && !fp.equals(model.fingerprint()) && !anyModel) {
                throw new UserException(source + ": exported from another base model (fingerprint " + fp + ", "
                        + where.name() + " has " + model.fingerprint() + "); --any-model to import anyway");
            }
            Map<String, String> meta = new LinkedHashMap<>(carried);
            meta.putAll(PromptFile.metadata(model, where.name(), t, init)); // a fresh 'created', this software
            meta.put(PromptFile.IMPORTED_FROM, ModelLocator.isHubId(named) ? named : source.toAbsolutePath().normalize().toString());
            if (prefix != null) {
                LanguageModel.Attention a = model.lm().attention();
                meta.put(PromptFile.DEPTH, PromptFile.DEEP);
                meta.put(PromptFile.HIDDEN_SIZE, Integer.toString(model.lm().hiddenSize()));
                meta.put(PromptFile.PREFIX_LAYERS, Integer.toString(a.layers()));
                meta.put(PromptFile.PREFIX_KV_HEADS, Integer.toString(a.kvHeads()));
            }
            Prompt imported = new Prompt(values, n, d, meta);
            // fitted as every command fits a prompt: positions left for text, label words told apart, a finite output
            Member.of(model, null, source.toString(), imported, null, true);
            Outputs.replaceFile("--output", output, PromptFile.writer(imported));
            err.printf(Locale.ROOT, "wrote %s (%s%d tokens x %d, task %s, model %s)%n", output, prefix != null ? "deep, " : "", n, d,
                    t.name(), where.name());
            if (common.json) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("output", output.toAbsolutePath().normalize().toString());
                j.put("source", source.toAbsolutePath().normalize().toString());
                j.put("tokens", n);
                j.put("hidden_size", d);
                j.put("task", t.name());
                j.put("model", where.name());
                j.put("init", init);
                spec.commandLine().getOut().println(Json.write(j));
            }
        }
        return 0;
    }
}
