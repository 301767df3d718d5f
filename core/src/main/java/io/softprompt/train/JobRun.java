package io.softprompt.train;

import io.softprompt.data.Encoder;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.hub.DemoModel;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.ActivationCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A job wired to a model: its data encoded, its config recorded, its initial prompt drawn, its
 * evaluation and best.sp writer in place (what the Trainer's run needs), and, when the run ends, its
 * .sp and final.json written (what finishing needs).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden size, L layers, Hkv key/value heads, K head size.
 */
final class JobRun implements AutoCloseable {
    final TrainJob job;
    final TrainConfig cfg;
    final Trainer.Run run;
    final Scorer scorer;
    final Map<String, String> meta;
    final LoadedModel model;
    /** The model the run trains and evaluates with: the loaded one, keeping its frozen layers' states. */
    final ActivationCache lm;
    final String modelName;
    final long started = System.nanoTime();
    /** The whole dev set's evaluation when training evaluated a sample of it (eval_samples), else null. */
    Trainer.Evaluation fullEval;

    JobRun(TrainJob job, TrainConfig cfg, Trainer.Run run, Scorer scorer, Map<String, String> meta, LoadedModel model,
            ActivationCache lm, String name) {
        this.lm = lm;
        this.job = job;
        this.cfg = cfg;
        this.run = run;
        this.scorer = scorer;
        this.meta = meta;
        this.model = model;
        this.modelName = name;
    }

    /** The .sp of the best prompt, then final.json. */
    TrainJob.Outcome finish(Trainer.Result r) {
        Path out = Path.of(cfg.output());
        Prompt written = RunRecords.writePrompt(out, r.bestPrompt(), cfg.tokens(), model, meta, r.bestStep(), r.bestDev());
        Map<String, Object> j = RunRecords.summary(cfg, modelName, DemoModel.isDemo(model.folder()), r,
                (System.nanoTime() - started) / 1e9);
        j.put("dev_majority_accuracy", RunRecords.majority(job.devRows));
        if (fullEval != null && r.bestPrompt() != null) { // evaluations saw a sample: the best prompt on every dev row
            Metrics all = fullEval.evaluate(r.bestPrompt()).metrics();
            j.put("eval_samples", cfg.evalSamples());
            j.put("best_dev_accuracy_all_rows", all.accuracy());
            j.put("best_dev_macro_f1_all_rows", Double.isFinite(all.macroF1()) ? all.macroF1() : null);
            j.put("dev_rows", all.examples());
        }
        ActivationCache.Stats st = lm.stats();
        if (st.rows() > 0) {
            j.put("activation_cache", Map.of("rows", st.rows(), "hits", st.hits(), "misses", st.misses(),
                    "memory_mb", st.memoryBytes() / 1048576.0, "spilled_mb", st.spilledBytes() / 1048576.0));
        }
        j.put("output", out.toString());
        j.put("run_dir", job.run.dir().toString());
        job.run.writeFinal(j);
        return new TrainJob.Outcome(out, job.run, written, r, j);
    }

    @Override
    public void close() {
        scorer.close();
    }

    /**
     * Trains the jobs together on one model (one job: alone, its failure thrown), sharing one activation
     * cache (the largest budget of theirs, spilling into the first one's run folder); see
     * {@link TrainJob#runPack}.
     */
    static List<TrainJob.Outcome> runPack(List<TrainJob> jobs, LoadedModel model, String modelName,
            List<Trainer.Listener> listeners, int tokenBudget) {
        List<JobRun> prepared = new ArrayList<>();
        long budget = jobs.stream().mapToLong(j -> j.cfg.activationCacheMb()).max().orElse(0) << 20;
        try (ActivationCache lm = new ActivationCache(model.lm(), budget, jobs.get(0).run.dir())) {
            for (int k = 0; k < jobs.size(); k++) {
                prepared.add(wire(jobs.get(k), model, lm, modelName, listeners.get(k)));
            }
            List<Trainer.Run> runs = prepared.stream().map(p -> p.run).toList();
            if (jobs.size() == 1) {
                return List.of(prepared.get(0).finish(Trainer.train(lm, runs.get(0))));
            }
            TrainJob.Outcome[] out = new TrainJob.Outcome[jobs.size()];
            Trainer.trainPack(lm, runs, tokenBudget, (k, r) -> {
                jobs.get(k).failure = r.failure();
                out[k] = r.failure() == null ? prepared.get(k).finish(r) : null;
            });
            return Arrays.asList(out);
        } finally {
            prepared.forEach(JobRun::close);
        }
    }

    /** Encodes the data, records the config, draws the initial prompt, wires evaluation and best.sp. */
    static JobRun wire(TrainJob job, LoadedModel model, ActivationCache lm, String modelName, Trainer.Listener listener) {
        TrainConfig settled = job.checkModel(model, modelName);
        int maxPos = model.lm().maxPositions();
        TrainConfig resolved = withData(job, settled, modelName).resolved(job.trainRows.size(), maxPos);
        TrainConfig c = resolved.promptLayers() != null && "deep".equals(resolved.depth())
                && resolved.promptLayers() == model.lm().attention().layers()
                ? resolved.toBuilder().promptLayers(null).build() : resolved; // every layer: the deep prompt itself
        c.site().firstLayer(model.lm()); // refuses more layers than the model has, before the run folder's first file
        Encoder enc = new Encoder(model.tokenizer(), job.task, c.maxLength(), model.lm(), model::chatTemplate);
        List<Encoder.Encoded> train = enc.encodeAll(job.trainRows);
        List<Encoder.Encoded> dev = enc.encodeAll(job.devRows);
        PromptInit init = PromptInit.parse(c.init());
        PromptSite site = c.site();
        // every refusal the model makes possible (checkModel's, the transfer's) comes before the run folder's first
        // file: a refused run leaves the folder as a rerun can use it (no config.json that asks for --force)
        Prompt source = init == PromptInit.TRANSFER ? PromptFile.readSource(Path.of(c.initFrom())) : null;
        // a source of the run's own site (a deep prompt of the same layers, a late prompt entering the same layer)
        // gives its values as they are; anything else starts from an input prompt [N·D]
        boolean tableGiven = source != null && site != PromptSite.INPUT && source.site().equals(site) && !c.prefixProjection();
        float[] initValues = source != null
                ? PromptInit.transfer(source, "{{init_from}} " + c.initFrom(), c.tokens(), model.lm().hiddenSize(),
                        model.fingerprint(), tableGiven ? site.width(model.lm()) : 0, flags(c))
                : init.values(model.lm(), model.tokenizer(), c.tokens(), c.seed(), c.initText(), enc.labelTokens());
        if (!c.prefixProjection() && !tableGiven) { // the projection starts from the input prompt it folds
            initValues = site.start(model.lm(), initValues, c.tokens(), c.seed());
        }
        if (c.reportsToTensorBoard()) {
            Path logDir = c.loggingDir() != null ? Path.of(c.loggingDir()) : job.run.dir().resolve("tb");
            job.run.reportToTensorBoard(logDir, Json.pretty(c));
        }
        if (job.from != null) {
            job.run.truncateMetricsAfter(job.from.state().step());
        } else {
            job.run.writeConfig(c);
        }
        float[] anchor = c.anchorText() == null ? null
                : PromptInit.TEXT.values(model.lm(), model.tokenizer(), c.tokens(), c.seed(), c.anchorText(), null);
        Map<String, String> meta = PromptFile.metadata(model, modelName, job.task, init.id());
        meta.put(PromptFile.TRAIN_CONFIG, Json.write(c));
        PromptFile.markSite(meta, site, model);
        Scorer scorer = new Scorer(lm, true, c.padTo());
        List<Encoder.Encoded> evalRows = sample(dev, c.evalSamples(), c.seed());
        Trainer.Evaluation eval = evaluation(job, c, model, lm, scorer, enc, site, evalRows);
        Trainer.Evaluation full = evalRows.size() < dev.size() ? evaluation(job, c, model, lm, scorer, enc, site, dev) : null;
        Trainer.Listener writesBest = new ForwardingListener(listener) {
            @Override
            public void onBest(int step, float[] prompt, Metrics m) {
                RunRecords.writePrompt(job.run.best(), prompt, c.tokens(), model, meta, step, m);
                listener.onBest(step, prompt, m);
            }
        };
        Trainer.Run r = new Trainer.Run(TrainPlan.of(c), enc, train, eval, evalRows.size(), initValues, writesBest,
                new Trainer.Context(anchor, job.run, job.from, model.fingerprint()).distributed(job.distributor));
        JobRun j = new JobRun(job, c, r, scorer, meta, model, lm, modelName);
        j.fullEval = full;
        return j;
    }

    private static Trainer.Evaluation evaluation(TrainJob job, TrainConfig c, LoadedModel model, LanguageModel lm, Scorer scorer, Encoder enc,
            PromptSite site, List<Encoder.Encoded> rows) {
        return job.task.textToText()
                ? p -> Evaluator.exactMatch(lm, model.tokenizer(), p, c.tokens(), site, rows)
                : p -> Evaluator.classify(scorer, new Scorer.Slot(p, c.tokens(), enc.labels(), site), rows, c.evalBatchSize());
    }

    /**
     * {@code n} dev rows drawn once with the seed, in their file order (all of them when n is null or
     * not smaller): the same rows at every evaluation, and on resume.
     */
    static List<Encoder.Encoded> sample(List<Encoder.Encoded> dev, Integer n, long seed) {
        if (n == null || n >= dev.size()) {
            return dev;
        }
        List<Integer> order = new java.util.ArrayList<>(java.util.stream.IntStream.range(0, dev.size()).boxed().toList());
        java.util.Collections.shuffle(order, new java.util.Random(seed));
        List<Integer> kept = new java.util.ArrayList<>(order.subList(0, n));
        java.util.Collections.sort(kept);
        return kept.stream().map(dev::get).toList();
    }


    /** The config with the model as named and the data files as resolved (a task's own files by absolute path). */
    private static TrainConfig withData(TrainJob job, TrainConfig cfg, String modelName) {
        TrainConfigBuilder b = cfg.toBuilder();
        if (cfg.model() == null || !Files.isDirectory(Path.of(cfg.model()))) {
            b.model(modelName);
        }
        if (job.trainSource.path() != null) {
            b.train(job.trainSource.path().toAbsolutePath().normalize().toString());
        }
        if (job.devSource != null && job.devSource.path() != null) {
            b.dev(job.devSource.path().toAbsolutePath().normalize().toString());
        }
        return b.build();
    }

    /** How the config asks for its prompt's site, in flags (config keys in a config file): for messages. */
    static String flags(TrainConfig c) {
        PromptSite site = c.site();
        String depth = c.prefixProjection() ? "deep {{prefix_projection}}"
                : "late".equals(site.depth()) || "input".equals(site.depth()) ? site.depth() : "deep";
        return "{{depth}} " + depth + (site.layers() > 0 ? " {{prompt_layers}} " + site.layers() : "");
    }
}
