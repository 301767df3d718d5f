package io.softprompt.train;

import io.softprompt.data.Example;
import io.softprompt.eval.Metrics;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.Rss;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What a run writes about itself: final.json's summary and the prompt files with their metrics. */
final class RunRecords {
    private RunRecords() {}

    /** final.json's figures: the run's config, its steps, the initial and best dev figures, speed and memory. */
    static Map<String, Object> summary(TrainConfig c, String modelName, boolean demo, Trainer.Result r,
            double wall) {
        Metrics best = r.bestDev();
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("model", modelName);
        j.put("demo_model", demo);
        j.put("task", c.task());
        j.put("tokens", c.tokens());
        j.put("init", c.init());
        j.put("seed", c.seed());
        j.put("steps", r.steps());
        j.put("stopped_early", r.stoppedEarly());
        j.put("resumed_from_step", r.resumedFrom() > 0 ? r.resumedFrom() : null);
        j.put("initial_dev_accuracy", r.initialDev() == null ? null : r.initialDev().accuracy());
        j.put("best_step", r.bestStep());
        j.put("best_dev_accuracy", best == null ? null : best.accuracy());
        j.put("best_dev_macro_f1", best == null || !Double.isFinite(best.macroF1()) ? null : best.macroF1());
        // the initial prompt is a candidate: a run that never beat it keeps it, and says so
        j.put("kept_initial_prompt", best != null && r.bestStep() == 0 && r.steps() > 0);
        j.put("final_loss", r.lastLoss());
        j.put("train_examples_per_sec", finite(r.trainExamplesPerSec()));
        j.put("eval_examples_per_sec", finite(r.evalExamplesPerSec()));
        j.put("wall_seconds", wall);
        j.put("peak_rss_mb", Rss.peakMb());
        return j;
    }

    /** The dev accuracy of always answering the most frequent class (null without labelled dev rows). */
    static Double majority(List<Example> dev) {
        Map<Integer, Integer> counts = new LinkedHashMap<>();
        for (Example e : dev) {
            if (e.label() >= 0) {
                counts.merge(e.label(), 1, Integer::sum);
            }
        }
        int total = counts.values().stream().mapToInt(Integer::intValue).sum();
        return total == 0 ? null : (double) counts.values().stream().mapToInt(Integer::intValue).max().orElse(0) / total;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** A prompt file of the run (the output or best.sp): the values, the run's metadata, the best step and dev figures. */
    static Prompt writePrompt(Path file, float[] values, int n, LoadedModel model, Map<String, String> base, int step,
            Metrics dev) {
        Map<String, String> meta = new LinkedHashMap<>(base);
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("best_step", step);
        if (dev != null) {
            metrics.put("dev", dev.toMap());
        }
        meta.put(PromptFile.METRICS, Json.write(metrics));
        Prompt p = new Prompt(values, n, PromptFile.site(meta).width(model.lm()), meta);
        Outputs.replaceFile("", file, PromptFile.writer(p));
        return p;
    }
}
