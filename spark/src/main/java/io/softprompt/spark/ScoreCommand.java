package io.softprompt.spark;

import io.softprompt.cli.CommonOptions;
import io.softprompt.cli.ModelOptions;
import io.softprompt.hub.ModelLocator;
import io.softprompt.scoring.Decoding;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** softprompt-spark score: a table of (id?, task, text) rows answered with a folder of prompts. */
@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Score a table with many prompts on Spark: every row (task, text, optional id) is answered with "
                + "its task's prompt from --prompts (NAME.sp is task NAME, serve's rules).",
            "Writes id, task, label, word, probabilities, generated (text-to-text tasks) and error (unknown task, empty "
                    + "text) in the input's row order. The model folder must be readable at the same path on every "
                    + "executor."})
public final class ScoreCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "The table: Parquet, CSV (with a header) or JSON lines.")
    String input;

    @Option(names = "--input-format", paramLabel = "parquet|csv|json",
            description = "Default: from the extension (.parquet, .csv, .json/.jsonl); a folder is Parquet.")
    String inputFormat;

    @Option(names = "--prompts", required = true, paramLabel = "DIR", description = "Folder of NAME.sp prompts (task NAME).")
    Path prompts;

    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Where the scored table goes (a folder).")
    String output;

    @Option(names = "--output-format", defaultValue = "parquet", paramLabel = "parquet|json",
            description = "Default: ${DEFAULT-VALUE}.")
    String outputFormat;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "B", description = "Rows per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--token-budget", defaultValue = "0", paramLabel = "TOKENS",
            description = "At most this many rows x length tokens per forward pass (default: no limit).")
    int tokenBudget;

    @Option(names = "--max-length", paramLabel = "T", description = "Longest input in tokens (default: each prompt's trained length).")
    Integer maxLength;

    @Option(names = "--max-new-tokens", defaultValue = Decoding.MAX_NEW_TOKENS, paramLabel = "K",
            description = "Tokens generated for text-to-text tasks (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--chunk-rows", defaultValue = "1024", paramLabel = "ROWS",
            description = "Rows a task scores together (length buckets form within a chunk; default: ${DEFAULT-VALUE}).")
    int chunkRows;

    @Option(names = "--partitions", defaultValue = "0", paramLabel = "N",
            description = "Spread the rows over N partitions, in order (default: the input's own; one file is one "
                    + "partition, which keeps one executor busy).")
    int partitions;

    @Option(names = "--no-prefix-cache", description = "Recompute each prompt's prefix in every batch.")
    boolean noPrefixCache;

    @Option(names = "--force", description = "Replace an existing --output.")
    boolean force;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        for (Object[] v : new Object[][] {{"--batch-size", batchSize}, {"--max-new-tokens", maxNewTokens},
            {"--chunk-rows", chunkRows}}) {
            if ((int) v[1] < 1) {
                throw new UserException(v[0] + " must be at least 1 (got " + v[1] + ")");
            }
        }
        if (partitions < 0) {
            throw new UserException("--partitions must be 0 (the input's own) or more (got " + partitions + ")");
        }
        if (tokenBudget < 0) {
            throw new UserException("--token-budget must be 0 (no limit) or more (got " + tokenBudget + ")");
        }
        if (maxLength != null && maxLength < 2) {
            throw new UserException("--max-length must be at least 2 (got " + maxLength + ")");
        }
        String inFormat = inputFormat != null ? inputFormat.toLowerCase(Locale.ROOT) : formatOf(input);
        if (!inFormat.equals("parquet") && !inFormat.equals("csv") && !inFormat.equals("json")) {
            throw new UserException("--input-format must be parquet, csv or json (got " + inFormat + ")");
        }
        String outFormat = outputFormat.toLowerCase(Locale.ROOT);
        if (!outFormat.equals("parquet") && !outFormat.equals("json")) {
            throw new UserException("--output-format must be parquet or json (got " + outputFormat + ")");
        }
        if (!Files.isDirectory(prompts)) {
            throw new UserException("--prompts " + prompts + ": " + (Files.exists(prompts) ? "not a folder" : "no such folder"));
        }
        ModelLocator.Located where = modelOptions.locate(null, err);
        SparkSession spark = SparkSession.builder().appName("softprompt score").getOrCreate();
        org.apache.hadoop.fs.Path given = new org.apache.hadoop.fs.Path(output);
        FileSystem fs = given.getFileSystem(spark.sparkContext().hadoopConfiguration());
        org.apache.hadoop.fs.Path out = fs.makeQualified(given);
        if (fs.exists(out) && !force) {
            throw new UserException("--output " + output + " exists; --force replaces it");
        }
        if (fs.exists(out)) {
            refuseUnlessSparkTable(fs, out, output);
        }
        if ("file".equals(out.toUri().getScheme())) { // a local table: the OS's reason now, before any scoring
            Path local = Path.of(out.toUri());
            Outputs.probe("--output", local, local.getParent());
        }
        org.apache.hadoop.fs.Path in = new org.apache.hadoop.fs.Path(input);
        if (!in.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(in)) {
            throw new UserException("--input " + input + ": no such file or folder");
        }
        Dataset<Row> table = switch (inFormat) {
            case "csv" -> spark.read().option("header", "true").csv(input);
            case "json" -> spark.read().json(input);
            default -> spark.read().parquet(input);
        };
        BatchScoring.Options o = BatchScoring.Options.of(where.folder(), prompts.toAbsolutePath().normalize())
                .withDevice(modelOptions.device()).withMaxLength(maxLength)
                .withBatching(batchSize, tokenBudget, !noPrefixCache, maxNewTokens, chunkRows).withPartitions(partitions);
        long t0 = System.nanoTime();
        BatchScoring.Scored s = BatchScoring.score(spark, table, o);
        // written beside the output, moved into place only when complete: never a half-written table
        org.apache.hadoop.fs.Path tmp = new org.apache.hadoop.fs.Path(out.getParent(), out.getName() + ".tmp-"
                + spark.sparkContext().applicationId());
        try {
            try {
                s.table().write().format(outFormat).save(tmp.toString());
            } catch (RuntimeException e) {
                IOException io = ioCause(e);
                if (io == null) {
                    throw e;
                }
                throw new UserException("--output " + output + ": cannot write: " + AtomicFiles.reason(io), e);
            }
            if (fs.exists(out)) {
                fs.delete(out, true);
            }
            if (!fs.rename(tmp, out)) {
                throw new UserException("--output " + output + ": cannot move the finished table into place from " + tmp);
            }
        } finally {
            if (fs.exists(tmp)) {
                fs.delete(tmp, true);
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long n = s.rows().value();
        err.printf(Locale.ROOT, "scored %d rows (%d with an error) of tasks %s in %.1f s (%.1f rows/s); wrote %s%n", n,
                s.errors().value(), s.tasks(), secs, n / secs, output);
        if (common.json()) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("rows", n);
            j.put("errors", s.errors().value());
            j.put("tasks", s.tasks());
            j.put("seconds", secs);
            j.put("output", output);
            spec.commandLine().getOut().println(Json.write(j));
        }
        return 0;
    }

    /**
     * --force replaces only a table Spark wrote: a folder of part files and Spark's markers (_SUCCESS,
     * .crc files). A file, or a folder holding anything else, is the user's and is refused, naming one
     * entry: --force never deletes what this command did not write.
     */
    static void refuseUnlessSparkTable(FileSystem fs, org.apache.hadoop.fs.Path out, String given) throws IOException {
        if (!fs.getFileStatus(out).isDirectory()) {
            throw new UserException("--output " + given + ": is a file, not a table this command wrote; --force replaces "
                    + "only such a table, so choose another --output");
        }
        for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(out)) {
            String name = st.getPath().getName();
            if (st.isDirectory() || !SPARK_OUTPUT.matcher(name).matches()) {
                throw new UserException("--output " + given + ": holds " + UserException.quote(name) + ", which is not part "
                        + "of a table this command wrote; --force replaces only such a table, so choose another --output");
            }
        }
    }

    /** The files of a table Spark writes: part files, _SUCCESS and their checksums. */
    static final java.util.regex.Pattern SPARK_OUTPUT = java.util.regex.Pattern.compile(
            "(\\.?part-[0-9]{5}-[0-9a-f-]+[^/]*|\\.?_SUCCESS(\\.crc)?)");

    /** The I/O failure behind a Spark job's failure (a full or read-only disk), or null. */
    static IOException ioCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof IOException io && io.getMessage() != null) {
                return io;
            }
        }
        return null;
    }

    static String formatOf(String path) {
        String p = path.toLowerCase(Locale.ROOT);
        if (p.endsWith(".csv")) {
            return "csv";
        }
        if (p.endsWith(".json") || p.endsWith(".jsonl")) {
            return "json";
        }
        return "parquet";
    }
}
