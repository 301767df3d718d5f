package io.softprompt.api;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.TsvReader;
import io.softprompt.eval.Evaluator;
import io.softprompt.hub.ModelLocator;
import io.softprompt.infer.Member;
import io.softprompt.infer.MultiTask;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Embeds;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.scoring.Decoding;
import io.softprompt.scoring.Generator;
import io.softprompt.scoring.Scorer;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainJob;
import io.softprompt.train.Trainer;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Java API: one frozen model, and the prompts trained, evaluated and used on it. Everything the
 * command line does goes through here or the classes it names; nothing needs picocli.
 *
 * <pre>{@code
 * try (SoftPrompt sp = SoftPrompt.load("models/sentiment-lm")) {
 *     TrainJob.Outcome run = sp.train(TrainConfig.builder().task("sst2").tokens(20).steps(300).output("sst2.sp").build());
 *     Prompt prompt = run.prompt();
 *     System.out.println(sp.evaluate(prompt, Path.of("dev.tsv")).metrics().accuracy());
 *     for (MultiTask.Answer a : sp.predict(prompt, List.of("a gorgeous, witty film"))) {
 *         System.out.println(a.label() + " " + a.probabilities());
 *     }
 * }
 * }</pre>
 *
 * Not thread-safe: use one instance per thread, or serialise calls (the model itself is shared
 * read-only and {@code softprompt serve} batches concurrent requests onto one thread).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt rows, T input tokens, D hidden.
 */
public final class SoftPrompt implements AutoCloseable {
    private final LoadedModel model;
    private final String name;
    private final ModelLocator.Located where;

    private SoftPrompt(LoadedModel model, String name, ModelLocator.Located where) {
        this.model = model;
        this.name = name;
        this.where = where;
    }

    /**
     * Loads a model: a Hugging Face folder, a hub id ({@code org/name}, optionally {@code @revision}: a
     * branch, tag or commit), {@code sentiment-lm} (the embedded model: add the artifact
     * softprompt-sentiment-lm beside this one), or null for the default model. Hub models live in the
     * Hugging Face cache as huggingface_hub lays it out (HF_HUB_CACHE, else HF_HOME/hub, else
     * {@code ~/.cache/huggingface/hub}), shared with Python tools; the embedded one in
     * {@link ModelLocator#defaultModelsDir()}: -Dsoftprompt.models or $SOFTPROMPT_MODELS, else
     * {@code ~/.cache/softprompt/models}, never the working folder. Download progress and notes go nowhere.
     *
     * @param model a folder, a hub id (with an optional {@code @revision}), {@code sentiment-lm}, or null
     * @return the model, ready; close it when done
     */
    public static SoftPrompt load(String model) {
        return load(model, ModelLocator.defaultModelsDir(), new PrintWriter(Writer.nullWriter()), false);
    }

    /**
     * As {@link #load(String)}, with the hub models' folder and where progress is printed.
     *
     * @param model a folder, a hub id, {@code sentiment-lm}, or null
     * @param modelsDir where the embedded model is kept (created when needed), and where a folder
     *     {@code <modelsDir>/<hub id>}, when present, is used before the Hugging Face cache
     * @param progress where download progress and notes go
     * @param terminal whether progress may redraw one line (a terminal) rather than print lines
     * @return the model, ready; close it when done
     */
    public static SoftPrompt load(String model, Path modelsDir, PrintWriter progress, boolean terminal) {
        ModelLocator.Located where = new ModelLocator(modelsDir, progress, terminal).locate(model);
        return new SoftPrompt(LoadedModel.load(where.folder(), where.name()), where.name(), where);
    }

    /**
     * Wraps a model already loaded; closing the result closes it.
     *
     * @param model the loaded model
     * @return the facade over it
     */
    public static SoftPrompt of(LoadedModel model) {
        return new SoftPrompt(model, model.name(), null);
    }

    /**
     * The model.
     *
     * @return the loaded model (weights, tokenizer, fingerprint)
     */
    public LoadedModel model() {
        return model;
    }

    /**
     * The model's name.
     *
     * @return the name recorded in the prompts trained on it (a folder's absolute path, a hub id, or
     *     {@code id@commit} for a hub id loaded at another revision than main)
     */
    public String name() {
        return name;
    }

    /**
     * Trains a prompt with {@code cfg} on this model (its model key is ignored) and writes it; quietly.
     *
     * @param cfg the training configuration ({@link TrainConfig#builder()})
     * @return the prompt as written, where, and the run's figures
     */
    public TrainJob.Outcome train(TrainConfig cfg) {
        return train(cfg, new Trainer.Listener() {});
    }

    /**
     * As {@link #train(TrainConfig)}, reporting to {@code listener}; an existing output or finished run is
     * refused. On the embedded model with the sst2 task and no data named, its own SST-2 data are used.
     *
     * @param cfg the training configuration
     * @param listener sees every step and evaluation
     * @return the prompt as written, where, and the run's figures
     */
    public TrainJob.Outcome train(TrainConfig cfg, Trainer.Listener listener) {
        TrainConfig c = cfg.toBuilder().model(name).build();
        if (where != null) {
            c = TrainJob.withModelData(c, where.trainData(), where.devData());
        }
        try (TrainJob job = TrainJob.prepare(c, null, false)) {
            return job.run(model, name, listener);
        }
    }

    /**
     * Runs a job already prepared (or resumed) on this model.
     *
     * @param job a job from {@link TrainJob#prepare} or {@link TrainJob#resume}
     * @param listener sees every step and evaluation
     * @return the prompt as written, where, and the run's figures
     */
    public TrainJob.Outcome train(TrainJob job, Trainer.Listener listener) {
        return job.run(model, name, listener);
    }

    /**
     * Reads a .sp file and checks it fits this model (hidden size and fingerprint).
     *
     * @param file the .sp file
     * @return the prompt and its metadata
     */
    public Prompt read(Path file) {
        Prompt p = PromptFile.read(file);
        p.checkFits(model, file.toString(), false);
        return p;
    }

    /**
     * The prompt ready to run here (its encoder, at the input length it was trained with).
     *
     * @param name the task name it answers for (null: the prompt's own)
     * @param prompt the prompt
     * @return the prompt fitted to this model
     */
    public Member member(String name, Prompt prompt) {
        return Member.of(model, name, "prompt " + (name != null ? name : prompt.meta(PromptFile.TASK)), prompt, null, false);
    }

    /**
     * Accuracy, macro-F1 and confusion (exact match for text-to-text) on labelled TSV or JSONL data.
     *
     * @param prompt the prompt
     * @param data a labelled TSV or JSON-lines file of the prompt's task
     * @return the metrics and the speed
     */
    public Evaluator.Result evaluate(Prompt prompt, Path data) {
        Member m = member(null, prompt);
        return evaluate(m, TsvReader.read(DataSource.file(data), m.task(), true));
    }

    /**
     * As {@link #evaluate(Prompt, Path)} for rows already read.
     *
     * @param m the prompt fitted to this model ({@link #member})
     * @param rows labelled rows of its task
     * @return the metrics and the speed
     */
    public Evaluator.Result evaluate(Member m, List<Example> rows) {
        List<Encoder.Encoded> encoded = m.encoder().encodeAll(rows);
        if (m.task().textToText()) {
            return Evaluator.exactMatch(model.lm(), model.tokenizer(), m.prompt().values(), m.prompt().tokens(), m.prompt().site(),
                    encoded);
        }
        try (Scorer scorer = new Scorer(model.lm(), true)) {
            return Evaluator.classify(scorer, m.slot(), encoded, 32);
        }
    }

    /**
     * The label and class probabilities of each text (generated text for a text-to-text prompt), in order.
     *
     * @param prompt the prompt
     * @param texts the inputs
     * @return one answer per text, in their order
     */
    public List<MultiTask.Answer> predict(Prompt prompt, List<String> texts) {
        List<MultiTask.Row> rows = new ArrayList<>();
        for (String t : texts) {
            rows.add(new MultiTask.Row(0, t));
        }
        return MultiTask.answer(model, List.of(member(null, prompt)), rows, new MultiTask.Batching(32, 0, true, Decoding.greedy(32)));
    }

    /**
     * Rows of several tasks, each (task name, text), answered with the prompt of that name in shared batches.
     *
     * @param prompts the prompts by task name
     * @param rows (task name, text) pairs
     * @return one answer per row, in their order
     */
    public List<MultiTask.Answer> predict(Map<String, Prompt> prompts, List<Map.Entry<String, String>> rows) {
        List<Member> members = new ArrayList<>();
        List<String> names = new ArrayList<>(prompts.keySet());
        for (String n : names) {
            members.add(member(n, prompts.get(n)));
        }
        List<MultiTask.Row> in = new ArrayList<>();
        for (Map.Entry<String, String> r : rows) {
            int k = names.indexOf(r.getKey());
            if (k < 0) {
                throw new UserException("unknown task " + UserException.quote(r.getKey()) + " (prompts given: " + names + ")");
            }
            in.add(new MultiTask.Row(k, r.getValue()));
        }
        return MultiTask.answer(model, members, in, new MultiTask.Batching(32, 0, true, Decoding.greedy(32)));
    }

    /**
     * Greedy continuation of text under the prompt (decoder LMs and T5), at most maxNewTokens tokens.
     *
     * @param prompt the prompt
     * @param text the input
     * @param maxNewTokens the most tokens generated
     * @return the generated text
     */
    public String generate(Prompt prompt, String text, int maxNewTokens) {
        return generate(prompt, text, Decoding.greedy(maxNewTokens)).text();
    }

    /**
     * Continuation of text under the prompt as {@code decoding} says: greedy or sampled (temperature,
     * top-k, top-p, seed), stop strings, a token budget.
     *
     * @param prompt the prompt
     * @param text the input
     * @param decoding how to generate
     * @return the generated ids and text, and why generation ended
     */
    public Generator.Output generate(Prompt prompt, String text, Decoding decoding) {
        Member m = member(null, prompt);
        return new Generator(model.lm(), model.tokenizer(), true)
                .generate(m.request(text, decoding));
    }

    /**
     * What the model computes on for {@code text} under an input prompt: the prompt's rows, then the
     * input embeddings of the text framed by the prompt's task ([N + T, D] float32), for another engine
     * to run (vLLM's prompt_embeds: {@link Embeds#vllm}). A deep prompt has no such rows: refused.
     *
     * @param prompt an input prompt
     * @param text the input
     * @return the rows
     */
    public Embeds embed(Prompt prompt, String text) {
        prompt.requireInput("the prompt", "embed (an engine fed inputs_embeds, such as vLLM, has no place for a "
                + "prefix in the layers or a prompt entering above the first)");
        Member m = member(null, prompt);
        long[] ids = m.encoder().encodeText(text);
        try (ai.djl.ndarray.NDManager nd = ai.djl.ndarray.NDManager.newBaseManager(model.lm().device())) {
            float[] rows = prompt.site().firstPass(nd, model.lm(), prompt.values(), prompt.tokens(), ids)
                    .toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();          // [1, N + T, D]
            return new Embeds(rows, prompt.tokens() + ids.length, model.lm().hiddenSize(), prompt.tokens(), ids);
        }
    }

    /** Closes the model: its native memory is freed. */
    @Override
    public void close() {
        model.close();
    }
}
