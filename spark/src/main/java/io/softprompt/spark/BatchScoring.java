package io.softprompt.spark;

import io.softprompt.infer.Member;
import io.softprompt.infer.MultiTask;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Prompt;
import io.softprompt.infer.PromptRegistry;
import io.softprompt.util.UserException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Batch scoring of a table: every row {@code (id?, task, text)} answered with its task's prompt.
 * The prompts come from a folder under serve's rules (regular {@code NAME.sp} files directly inside
 * it, task NAME; refused files logged and never used) and travel to executors as one broadcast; each
 * executor JVM loads the model once ({@link ModelHolder}) and answers each partition, in chunks, with
 * the mixed-task scorer ({@link MultiTask}: length buckets, prefix cache, label-only logits;
 * text-to-text rows generated). Row and partition order are kept. A row whose task is unknown or
 * whose text is empty gets an {@code error} and nulls, never failing the job.
 */
public final class BatchScoring {
    private static final Logger LOG = LoggerFactory.getLogger(BatchScoring.class);

    /**
     * How to score: the model folder (every executor must read it at this path) and device; the
     * prompts folder; the longest input (null: each prompt's trained length, as infer); the scorer's
     * batch size, token budget (0: none), prefix cache; new tokens for text-to-text; rows per chunk;
     * partitions: spread the rows over this many partitions in order (0: the input's own partitions).
     */
    public record Options(String model, String device, String prompts, Integer maxLength, int batchSize, int tokenBudget,
            boolean prefixCache, int maxNewTokens, int chunkRows, int partitions) implements Serializable {
        private static final long serialVersionUID = 1L;

        public static Options of(Path model, Path prompts) {
            return new Options(model.toAbsolutePath().normalize().toString(), "auto",
                    prompts.toAbsolutePath().normalize().toString(), null, 32, 0, true,
                    io.softprompt.scoring.Decoding.DEFAULTS.maxNewTokens(), 1024, 0);
        }

        public Options withDevice(String d) {
            return new Options(model, d, prompts, maxLength, batchSize, tokenBudget, prefixCache, maxNewTokens, chunkRows,
                    partitions);
        }

        public Options withBatching(int batch, int budget, boolean cache, int newTokens, int chunk) {
            return new Options(model, device, prompts, maxLength, batch, budget, cache, newTokens, chunk, partitions);
        }

        public Options withMaxLength(Integer len) {
            return new Options(model, device, prompts, len, batchSize, tokenBudget, prefixCache, maxNewTokens, chunkRows,
                    partitions);
        }

        public Options withPartitions(int p) {
            return new Options(model, device, prompts, maxLength, batchSize, tokenBudget, prefixCache, maxNewTokens, chunkRows,
                    p);
        }
    }

    /** The scored table and counters that fill as it is computed (read them after an action). */
    public record Scored(Dataset<Row> table, List<String> tasks, LongAccumulator rows, LongAccumulator errors) {}

    private BatchScoring() {}

    /**
     * The output's columns, the answer schema of infer --json, mixed infer and serve: id (the input's,
     * else the row number from 1), task, label, word (the label's verbalizer word), probabilities,
     * generated (text-to-text tasks), error.
     */
    public static StructType schema(DataType idType) {
        return new StructType(new StructField[] {
            DataTypes.createStructField("id", idType, true),
            DataTypes.createStructField("task", DataTypes.StringType, true),
            DataTypes.createStructField("label", DataTypes.StringType, true),
            DataTypes.createStructField("word", DataTypes.StringType, true),
            DataTypes.createStructField("probabilities", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType), true),
            DataTypes.createStructField("generated", DataTypes.StringType, true),
            DataTypes.createStructField("error", DataTypes.StringType, true)});
    }

    /**
     * Scores {@code input} (columns task and text, optional id). The prompts are read and checked on
     * the driver (which loads the model once too); nothing is computed until an action runs.
     */
    public static Scored score(SparkSession spark, Dataset<Row> input, Options o) {
        List<String> cols = Arrays.asList(input.columns());
        if (!cols.contains("task") || !cols.contains("text")) {
            throw new UserException("the input needs columns 'task' and 'text' (and optionally 'id'); it has " + cols);
        }
        boolean hasId = cols.contains("id");
        DataType idType = hasId ? input.schema().apply("id").dataType() : DataTypes.LongType;
        Column task = input.col("task").cast(DataTypes.StringType);
        Column text = input.col("text").cast(DataTypes.StringType);
        Dataset<Row> in = hasId ? input.select(input.col("id"), task, text) : input.select(task, text);

        // ---- the prompts, by serve's rules, checked on the driver's model ----
        LoadedModel model = ModelHolder.get(new ModelHolder.Key(o.model(), o.device(), null));
        PromptRegistry registry = new PromptRegistry(Path.of(o.prompts()), model, o.maxLength(), slot -> {}, true);
        registry.refresh();
        registry.refused().forEach((file, why) -> LOG.warn("not using {}/{}: {}", o.prompts(), file, why));
        Map<String, Prompt> prompts = new LinkedHashMap<>();
        registry.entries().forEach((name, e) -> prompts.put(name, e.prompt()));
        if (prompts.isEmpty()) {
            throw new UserException("--prompts " + o.prompts() + ": no usable prompt (NAME.sp files directly inside it"
                    + (registry.refused().isEmpty() ? "" : "; refused: " + registry.refused()) + ")");
        }
        ModelHolder.Key key = new ModelHolder.Key(o.model(), o.device(), model.fingerprint());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<Map<String, Prompt>> b = jsc.broadcast(prompts);
        LongAccumulator rows = spark.sparkContext().longAccumulator("softprompt rows");
        LongAccumulator errors = spark.sparkContext().longAccumulator("softprompt row errors");

        JavaRDD<Row> numbered = hasId ? in.javaRDD()
                : in.javaRDD().zipWithIndex().map(t -> RowFactory.create(t._2() + 1, t._1().get(0), t._1().get(1)));
        if (o.partitions() > 0) {
            numbered = inOrder(numbered, o.partitions());
        }
        JavaRDD<Row> out = numbered.mapPartitions(new Partition(key, b, o, rows, errors));
        return new Scored(spark.createDataFrame(out, schema(idType)), List.copyOf(prompts.keySet()), rows, errors);
    }

    /**
     * The rows spread over {@code parts} partitions with their order kept: partition i holds the i-th
     * slice of the row numbers, sorted within (one file read as one partition keeps one executor busy).
     */
    static JavaRDD<Row> inOrder(JavaRDD<Row> rows, int parts) {
        long n = rows.count();
        JavaPairRDD<Long, Row> keyed = rows.zipWithIndex().mapToPair(t -> new Tuple2<>(t._2(), t._1()));
        return keyed.repartitionAndSortWithinPartitions(new Slices(parts, n)).values();
    }

    /** Row number → partition: {@code parts} contiguous slices of {@code n} rows. */
    static final class Slices extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int parts;
        private final long n;

        Slices(int parts, long n) {
            this.parts = parts;
            this.n = Math.max(1, n);
        }

        @Override
        public int numPartitions() {
            return parts;
        }

        @Override
        public int getPartition(Object key) {
            return (int) Math.min(parts - 1, (Long) key * parts / n);
        }
    }

    /** One partition, scored chunk by chunk as the output is pulled (a partition never sits whole in memory). */
    static final class Partition implements FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        private final ModelHolder.Key key;
        private final Broadcast<Map<String, Prompt>> prompts;
        private final Options o;
        private final LongAccumulator rows;
        private final LongAccumulator errors;

        Partition(ModelHolder.Key key, Broadcast<Map<String, Prompt>> prompts, Options o, LongAccumulator rows,
                LongAccumulator errors) {
            this.key = key;
            this.prompts = prompts;
            this.o = o;
            this.rows = rows;
            this.errors = errors;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> in) {
            LoadedModel model = ModelHolder.get(key);
            List<Member> members = ModelHolder.members(key, prompts.id(), prompts.value(), o.maxLength());
            Map<String, Integer> byName = new LinkedHashMap<>();
            for (int k = 0; k < members.size(); k++) {
                byName.put(members.get(k).name(), k);
            }
            return new Iterator<>() {
                Iterator<Row> chunk = List.<Row>of().iterator();

                @Override
                public boolean hasNext() {
                    if (!chunk.hasNext() && in.hasNext()) {
                        List<Row> next = new ArrayList<>(o.chunkRows());
                        while (in.hasNext() && next.size() < o.chunkRows()) {
                            next.add(in.next());
                        }
                        chunk = answer(model, members, byName, next).iterator();
                    }
                    return chunk.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return chunk.next();
                }
            };
        }

        /** Rows (id, task, text) → output rows, in order: valid rows scored together, the others with their error. */
        List<Row> answer(LoadedModel model, List<Member> members, Map<String, Integer> byName, List<Row> chunk) {
            String[] error = new String[chunk.size()];
            List<MultiTask.Row> valid = new ArrayList<>();
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < chunk.size(); i++) {
                String task = chunk.get(i).getString(1);
                String text = chunk.get(i).getString(2);
                Integer m = task == null ? null : byName.get(task);
                if (task == null || task.isBlank()) {
                    error[i] = "missing task";
                } else if (m == null) {
                    error[i] = "unknown task '" + task + "' (tasks: " + String.join(", ", byName.keySet()) + ")";
                } else if (text == null || text.isBlank()) {
                    error[i] = "empty text";
                } else {
                    valid.add(new MultiTask.Row(m, text));
                    at.add(i);
                }
            }
            MultiTask.Answer[] answers = new MultiTask.Answer[chunk.size()];
            MultiTask.Batching how = new MultiTask.Batching(o.batchSize(), o.tokenBudget(), o.prefixCache(),
                    io.softprompt.scoring.Decoding.greedy(o.maxNewTokens()));
            try {
                List<MultiTask.Answer> a = MultiTask.answer(model, members, valid, how);
                for (int k = 0; k < a.size(); k++) {
                    answers[at.get(k)] = a.get(k);
                }
            } catch (RuntimeException e) { // one row the batch cannot take: find it, answer the rest alone
                LOG.warn("a chunk of {} rows failed ({}); answering its rows one by one", valid.size(), e.toString());
                for (int k = 0; k < valid.size(); k++) {
                    try {
                        answers[at.get(k)] = MultiTask.answer(model, members, List.of(valid.get(k)), how).get(0);
                    } catch (RuntimeException one) {
                        error[at.get(k)] = one instanceof UserException ? one.getMessage() : one.toString();
                    }
                }
            }
            List<Row> out = new ArrayList<>(chunk.size());
            for (int i = 0; i < chunk.size(); i++) {
                Row r = chunk.get(i);
                MultiTask.Answer a = answers[i];
                if (a == null) {
                    errors.add(1);
                    out.add(RowFactory.create(r.get(0), r.getString(1), null, null, null, null, error[i]));
                    continue;
                }
                Map<String, Double> probs = null;
                if (a.probabilities() != null) {
                    probs = new LinkedHashMap<>();
                    for (Map.Entry<String, Float> e : a.probabilities().entrySet()) {
                        probs.put(e.getKey(), (double) e.getValue());
                    }
                }
                out.add(RowFactory.create(r.get(0), a.task(), a.label(), a.word(), probs == null ? null : CollectionConverters.asScala(probs),
                        a.generated(), null));
            }
            rows.add(chunk.size());
            return out;
        }
    }
}
