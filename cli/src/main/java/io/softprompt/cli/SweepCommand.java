package io.softprompt.cli;

import io.softprompt.sweep.SweepPlan;
import io.softprompt.sweep.SweepRunner;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
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
import picocli.CommandLine.Spec;

/** softprompt sweep: a grid of training runs, resumable and shardable. */
@Command(name = "sweep", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a grid of training runs, resumable and shardable.",
            "Every combination of the config's \"grid\" values on top of its "
                + "\"base\" flags (keys are train flags, as in train --config). Each run gets OUT/<id>/ (a train run "
                + "folder: prompt.sp, config.json, metrics.jsonl, final.json). Re-running skips finished runs and "
                + "resumes interrupted ones. Relative paths in the config are taken from the current folder.",
            "  softprompt sweep --config configs/sweep-sst2.json --out runs/ --workers 2",
            "  softprompt sweep --config configs/sweep-sst2.json --out runs/ --shard 2/3    (CI matrix job 2 of 3)",
            "  softprompt sweep --config configs/sweep-sst2.json --out runs/ --pack 8       (8 runs per forward pass)",
            "Then: softprompt report runs/ --out report/"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every run finished", "2:bad input", "4:some runs failed (see OUT/<id>/train.log)"})
public final class SweepCommand implements Callable<Integer> {
    public static final int EXIT_RUNS_FAILED = 4;

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--config", required = true, paramLabel = "SWEEP.json", description = "The sweep: {\"base\": {...}, \"grid\": {...}}.")
    Path config;

    @Option(names = "--out", required = true, paramLabel = "RUNS_DIR", description = "Where the run folders go.")
    Path out;

    @Option(names = "--workers", defaultValue = "1", paramLabel = "K",
            description = "Runs at once, each a child process with cores/K PyTorch threads (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--pack", defaultValue = "1", paramLabel = "K",
            description = "Train up to K runs that share model and max length in one process, every forward pass "
                    + "shared (each run's folder as if it ran alone; default: ${DEFAULT-VALUE}, no packing).")
    int pack;

    @Option(names = "--token-budget", defaultValue = "0", paramLabel = "TOKENS",
            description = "With --pack: at most this many rows x positions in one forward pass; a step's runs past it "
                    + "go in further passes (bounds activation memory; default: 0, no limit).")
    int tokenBudget;

    @Option(names = "--device", paramLabel = "DEVICE", description = "Passed to every run: cpu, gpu, gpu:N or auto.")
    String device;

    @Option(names = "--dtype", paramLabel = "TYPE", description = "Passed to every run: float32, float16, bfloat16 or auto.")
    String dtype;

    @Option(names = "--shard", paramLabel = "i/n", description = "Only runs whose grid index mod n is i-1 (1 <= i <= n).")
    String shard;

    @Option(names = "--set", paramLabel = "KEY=JSON", description = "Override a base flag, e.g. --set model=\\\"gpt2-medium\\\" "
            + "or --set steps=500 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--force", description = "Start afresh the runs whose folders were started with another configuration.")
    boolean force;

    @Option(names = "--dry-run", description = "List the runs as a table (with --json: JSON lines) and what would "
            + "happen to each (new, finished, interrupted, changed; the pack with --pack), without running them.")
    boolean dryRun;

    @Option(names = "--debug-step-delay-ms", hidden = true, defaultValue = "0", description = "Test hook, passed to train.")
    long debugStepDelayMs;

    @Override
    public Integer call() throws Exception {
        PrintWriter out_ = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (workers < 1) {
            throw new UserException("--workers must be at least 1 (got " + workers + ")");
        }
        if (pack < 1) {
            throw new UserException("--pack must be at least 1 (got " + pack + ")");
        }
        if (tokenBudget < 0) {
            throw new UserException("--token-budget must be 0 (no limit) or positive (got " + tokenBudget + ")");
        }
        if (tokenBudget > 0 && pack == 1) {
            throw new UserException("--token-budget applies to packs: pass --pack K as well");
        }
        SweepPlan plan = SweepPlan.load(config);
        for (String o : overrides) {
            int eq = o.indexOf('=');
            if (eq < 1) {
                throw new UserException("--set " + o + ": expected KEY=JSON");
            }
            try {
                plan.base().set(o.substring(0, eq), Json.MAPPER.readTree(o.substring(eq + 1)));
            } catch (IOException e) {
                // a bare word is taken as a string: --set model=gpt2
                plan.base().put(o.substring(0, eq), o.substring(eq + 1));
            }
        }
        if (!overrides.isEmpty()) {
            plan = new SweepPlan(plan.name(), plan.base(), plan.grid(), reexpand(plan));
        }
        List<SweepPlan.Run> runs = plan.runs();
        if (shard != null) {
            String[] p = shard.split("/");
            int i;
            int n;
            try {
                i = Integer.parseInt(p[0]);
                n = Integer.parseInt(p[1]);
            } catch (RuntimeException e) {
                throw new UserException("--shard " + shard + ": expected i/n, e.g. 2/3");
            }
            if (p.length != 2 || n < 1 || i < 1 || i > n) {
                throw new UserException("--shard " + shard + ": expected i/n with 1 <= i <= n");
            }
            runs = plan.shard(i, n);
        }
        // every run's flags, task and data files are checked as train would check them, before anything runs,
        // and a run folder started with another configuration is never taken for this run
        SweepRunner.checkOut(out);
        SweepRunner runner = new SweepRunner(out, workers, pack, tokenBudget, err, childTrainCommand(), childArgs());
        Map<String, SweepRunner.State> states = new LinkedHashMap<>();
        List<String> changed = new ArrayList<>();
        for (SweepPlan.Run r : runs) {
            String source = config + " (run " + r.id() + ")";
            String fp;
            try {
                fp = SweepRunner.fingerprint(r, source);
            } catch (UserException e) {
                throw e.raw().startsWith(source) ? e : new UserException(source + ": " + e.raw());
            }
            SweepRunner.State st = runner.state(r, fp);
            states.put(r.id(), st);
            if (st == SweepRunner.State.CHANGED) {
                changed.add(r.id());
            }
        }
        if (!changed.isEmpty() && !force && !dryRun) {
            throw new UserException(out + ": " + changed.size() + " run folder(s) were started with another configuration "
                    + "than this sweep now gives them (" + String.join(", ", changed.subList(0, Math.min(3, changed.size())))
                    + (changed.size() > 3 ? ", ..." : "") + "); pass --force to start them afresh, or use another --out");
        }
        if (dryRun) {
            Map<String, Integer> packOf = new LinkedHashMap<>();
            if (pack > 1) {
                List<List<SweepPlan.Run>> packs = SweepRunner.packs(runs.stream()
                        .filter(r -> states.get(r.id()) != SweepRunner.State.FINISHED).toList(), pack);
                for (int i = 0; i < packs.size(); i++) {
                    for (SweepPlan.Run r : packs.get(i)) {
                        packOf.put(r.id(), i + 1);
                    }
                }
            }
            if (common.json) {
                for (SweepPlan.Run r : runs) {
                    Map<String, Object> j = new LinkedHashMap<>();
                    j.put("index", r.index());
                    j.put("run", r.id());
                    j.put("point", r.point());
                    j.put("state", states.get(r.id()).name().toLowerCase(Locale.ROOT));
                    if (packOf.containsKey(r.id())) {
                        j.put("pack", packOf.get(r.id()));
                    }
                    out_.println(Json.write(j));
                }
            } else {
                out_.print(dryRunTable(plan, runs, states, packOf));
            }
            out_.flush();
            return 0;
        }
        int cores = Runtime.getRuntime().availableProcessors();
        if (workers > cores) {
            err.printf("warning: --workers %d on %d cores: each run gets 1 thread and they compete for the cores%n",
                    workers, cores);
        }
        SweepRunner.Outcome o = runner.run(plan, runs);
        err.printf("sweep %s: %d finished, %d already done, %d failed%n", plan.name(), o.finished().size(), o.skipped().size(),
                o.failed().size());
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("sweep", plan.name());
            j.put("out", out.toAbsolutePath().normalize().toString());
            j.put("runs", runs.size());
            j.put("finished", o.finished());
            j.put("skipped", o.skipped());
            j.put("failed", o.failed());
            out_.println(Json.write(j));
            out_.flush();
        }
        if (!o.failed().isEmpty()) {
            throw new UserException(o.failed().size() + " of " + runs.size() + " runs failed: " + o.failed()
                    + " (see " + out + "/<run>/train.log); re-run the sweep to retry them", EXIT_RUNS_FAILED);
        }
        return 0;
    }

    /**
     * The runs as a table: index, state, pack (with --pack), one column per grid key, the run folder;
     * then a count per state.
     */
    static String dryRunTable(SweepPlan plan, List<SweepPlan.Run> runs, Map<String, SweepRunner.State> states,
            Map<String, Integer> packOf) {
        List<String> keys = new ArrayList<>(plan.grid().keySet());
        List<String> header = new ArrayList<>(List.of("#", "state"));
        if (!packOf.isEmpty()) {
            header.add("pack");
        }
        header.addAll(keys);
        header.add("run folder");
        List<List<String>> rows = new ArrayList<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (SweepPlan.Run r : runs) {
            String state = states.get(r.id()).name().toLowerCase(Locale.ROOT);
            counts.merge(state, 1, Integer::sum);
            List<String> row = new ArrayList<>(List.of(Integer.toString(r.index()), state));
            if (!packOf.isEmpty()) {
                row.add(packOf.containsKey(r.id()) ? Integer.toString(packOf.get(r.id())) : "-");
            }
            for (String k : keys) {
                Object v = r.point().get(k);
                row.add(v instanceof String str ? str : Json.write(v));
            }
            row.add(r.id());
            rows.add(row);
        }
        int[] w = new int[header.size()];
        for (int c = 0; c < w.length; c++) {
            w[c] = header.get(c).length();
            for (List<String> row : rows) {
                w[c] = Math.max(w[c], row.get(c).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (List<String> row : java.util.stream.Stream.concat(java.util.stream.Stream.of(header), rows.stream()).toList()) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < w.length; c++) {
                String cell = row.get(c);
                boolean right = c == 0; // the index reads best right-aligned
                line.append(right ? " ".repeat(w[c] - cell.length()) + cell : cell + (c == w.length - 1 ? "" : " ".repeat(w[c] - cell.length())));
                if (c < w.length - 1) {
                    line.append("  ");
                }
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        StringBuilder total = new StringBuilder(runs.size() + " run(s): ");
        counts.forEach((k, v) -> total.append(v).append(' ').append(k).append(", "));
        sb.append(total, 0, total.length() - 2).append(" (nothing ran: --dry-run; --json for JSON lines)\n");
        return sb.toString();
    }

    /** What every child gets besides its run's flags: the placement, and the test hook. */
    private List<String> childArgs() {
        List<String> a = new ArrayList<>();
        if (device != null) {
            a.addAll(List.of("--device", device));
        }
        if (dtype != null) {
            a.addAll(List.of("--dtype", dtype));
        }
        if (debugStepDelayMs > 0) {
            a.addAll(List.of("--debug-step-delay-ms", Long.toString(debugStepDelayMs)));
        }
        return a;
    }

    /** This JVM's java and classpath running {@code softprompt train}: a bounded heap, as the launcher sets. */
    static List<String> childTrainCommand() {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Xms64m", "-Xmn24m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:MaxDirectMemorySize=64g", "-Dai.djl.offline=true"));
        for (String p : List.of("softprompt.offline", "softprompt.hf.cache")) {
            if (System.getProperty(p) != null) {
                cmd.add("-D" + p + "=" + System.getProperty(p));
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "train"));
        return cmd;
    }

    private static List<SweepPlan.Run> reexpand(SweepPlan plan) {
        return SweepPlan.load(plan, plan.base());
    }
}
