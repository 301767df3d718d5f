package io.softprompt.spark;

import io.softprompt.data.Encoder;
import io.softprompt.loader.LoadedModel;
import io.softprompt.train.DataParallel;
import io.softprompt.train.Trainer;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data-parallel training on Spark, the way MLlib's optimisers step: each step the driver broadcasts
 * the prompt [N·D] (a few hundred KB), splits the step's rows (the very rows, in the very order, the
 * single-process trainer draws) into contiguous shards, one per partition; each task computes its
 * shard's loss and gradient sums with its executor's frozen model ({@link io.softprompt.train.DataParallel#shard}, the code a
 * local step runs); {@code treeAggregate} adds them in double. The driver's {@link Trainer} divides
 * by the step's loss terms, clips, steps the optimiser, evaluates and checkpoints exactly as it does
 * alone, so a run folder resumes in either mode.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden.
 */
public final class SparkTraining {
    private static final Logger LOG = LoggerFactory.getLogger(SparkTraining.class);
    /** Spark setting: how many shards (tasks) a step's rows are split into (default: the default parallelism). */
    public static final String PARTITIONS = "spark.softprompt.train.partitions";

    private SparkTraining() {}

    /** The distributor for a run on {@code model} (the driver's), over the active or a new Spark session. */
    public static DataParallel.Distributor distributor(LoadedModel model, String device) {
        return spec -> {
            SparkSession spark = SparkSession.builder().appName("softprompt train").getOrCreate();
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int parts = Integer.parseInt(spark.conf().get(PARTITIONS, String.valueOf(jsc.defaultParallelism())));
            if (parts < 1) {
                throw new IllegalArgumentException(PARTITIONS + " must be at least 1 (got " + parts + ")");
            }
            ModelHolder.Key key = new ModelHolder.Key(model.folder().toAbsolutePath().normalize().toString(), device,
                    model.fingerprint());
            LOG.info("data-parallel training on {}: each step's rows in up to {} shards", spark.sparkContext().master(), parts);
            return new Gradients(jsc, key, spec, parts);
        };
    }

    /** Each step: broadcast the prompt, one task per shard, sums added with treeAggregate. */
    static final class Gradients implements DataParallel.Gradients {
        private final JavaSparkContext jsc;
        private final ModelHolder.Key key;
        private final DataParallel.LossSpec spec;
        private final int parts;

        Gradients(JavaSparkContext jsc, ModelHolder.Key key, DataParallel.LossSpec spec, int parts) {
            this.jsc = jsc;
            this.key = key;
            this.spec = spec;
            this.parts = parts;
        }

        @Override
        public DataParallel.Sums compute(float[] prompt, List<Encoder.Encoded> rows) {
            Broadcast<float[]> p = jsc.broadcast(prompt);                                         // [N·D]
            try {
                ModelHolder.Key k = key;
                DataParallel.LossSpec s = spec;
                int size = prompt.length;
                return jsc.parallelize(shards(rows, parts), Math.min(parts, rows.size()))
                        .map(shard -> ModelHolder.withGradients(() -> DataParallel.shard(ModelHolder.get(k).lm(), s, p.value(), shard)))
                        .treeAggregate(DataParallel.Sums.zero(size), DataParallel.Sums::plus, DataParallel.Sums::plus);
            } finally {
                p.destroy();
            }
        }
    }

    /** rows cut into at most {@code parts} contiguous shards of near-equal size, none empty. */
    static List<List<Encoder.Encoded>> shards(List<Encoder.Encoded> rows, int parts) {
        int k = Math.min(parts, rows.size());
        List<List<Encoder.Encoded>> out = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            int from = (int) ((long) rows.size() * i / k);
            int to = (int) ((long) rows.size() * (i + 1) / k);
            out.add(new ArrayList<>(rows.subList(from, to)));
        }
        return out;
    }
}
