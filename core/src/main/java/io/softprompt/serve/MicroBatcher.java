package io.softprompt.serve;

import io.softprompt.data.Encoder;
import io.softprompt.infer.PromptRegistry;
import io.softprompt.scoring.Generator;
import io.softprompt.scoring.Scorer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gathers the items of concurrent requests, of any tasks, into batches: one worker thread (the model
 * runs one batch at a time) takes the first waiting item, waits up to the window for more, up to the
 * largest batch, and under load also takes what is already waiting behind them, up to {@link #GATHER}
 * batches' worth; it lays them into passes of similar length ({@link Scorer#batches}) and scores one
 * pass at a time, answering each pass's items as it ends, the pass holding the oldest item first.
 * Gathering more than one batch is what keeps a loaded server from padding every pass to the longest of
 * whatever 32 items arrived together (scripts/bench-prompts.sh: one prompt served at about half the
 * scorer's rows/s before). Items of text-to-text tasks are generated together ({@link Generator}: one
 * batched pass per new token, with the key/value cache). The queue is bounded: a request whose items do
 * not all fit is refused whole (the server answers 503).
 */
public final class MicroBatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MicroBatcher.class);
    /** The most batches' worth of waiting items laid out into passes together. */
    static final int GATHER = 4;

    private final Scorer scorer;
    private final Generator generator;
    private final ArrayBlockingQueue<Pending> queue;
    private final int maxBatch;
    private final long windowNanos;
    private final int tokenBudget;
    private final ServeMetrics metrics;
    private final Thread worker;
    private volatile boolean running = true;

    public MicroBatcher(Scorer scorer, Generator generator, int queueCapacity, int maxBatch, long windowMillis, int tokenBudget,
            ServeMetrics metrics) {
        this.scorer = scorer;
        this.generator = generator;
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.maxBatch = maxBatch;
        this.windowNanos = TimeUnit.MILLISECONDS.toNanos(windowMillis);
        this.tokenBudget = tokenBudget;
        this.metrics = metrics;
        this.worker = new Thread(this::loop, "softprompt-batcher");
        this.worker.setDaemon(true);
        this.worker.start();
    }

    public int queued() {
        return queue.size();
    }

    /** Enqueues all items of one request, or none (false: the queue is full). */
    public synchronized boolean offerAll(List<Pending> items) {
        if (queue.remainingCapacity() < items.size()) {
            return false;
        }
        queue.addAll(items);
        return true;
    }

    private void loop() {
        while (running) {
            List<Pending> batch = new ArrayList<>();
            try {
                Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                long deadline = System.nanoTime() + windowNanos;
                while (batch.size() < maxBatch) {
                    long left = deadline - System.nanoTime();
                    Pending p = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : queue.poll();
                    if (p == null) {
                        break;
                    }
                    batch.add(p);
                }
                if (batch.size() == maxBatch) {
                    queue.drainTo(batch, (GATHER - 1) * maxBatch); // under load: what already waits, no more waiting
                }
                List<Pending.Classify> rows = new ArrayList<>();
                List<Pending.Generate> gen = new ArrayList<>();
                for (Pending p : batch) {
                    if (p instanceof Pending.Generate g) {
                        gen.add(g);
                    } else {
                        rows.add((Pending.Classify) p);
                    }
                }
                score(rows);
                generate(gen);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Throwable t) { // never let the worker die: fail this batch, go on
                LOG.error("batch of {} failed: {}", batch.size(), t.toString(), t);
                for (Pending p : batch) {
                    p.result().completeExceptionally(t);
                }
            }
        }
    }

    private void generate(List<Pending.Generate> batch) {
        if (batch.isEmpty()) {
            return;
        }
        if (generator == null) {
            throw new IllegalStateException("this model does not generate");
        }
        metrics.batch(batch.size());
        List<Generator.Output> out = generator.generate(batch.stream().map(Pending.Generate::request).toList());
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).result().complete(out.get(i));
        }
    }

    private void score(List<Pending.Classify> batch) {
        if (batch.isEmpty()) {
            return;
        }
        Map<Scorer.Slot, Integer> index = new IdentityHashMap<>();
        List<Scorer.Slot> slots = new ArrayList<>();
        List<Scorer.Item> items = new ArrayList<>();
        for (Pending.Classify p : batch) {
            Integer k = index.get(p.entry().slot());
            if (k == null) {
                k = slots.size();
                index.put(p.entry().slot(), k);
                slots.add(p.entry().slot());
            }
            items.add(new Scorer.Item(k, p.row()));
        }
        List<int[]> passes = new ArrayList<>(scorer.batches(slots, items, maxBatch, tokenBudget));
        passes.sort(Comparator.comparingInt(p -> Arrays.stream(p).min().orElse(0))); // the oldest item's pass first
        for (int[] pass : passes) {
            metrics.batch(pass.length);
            float[][] probs = scorer.score(slots, items, List.of(pass));
            for (int i : pass) {
                batch.get(i).result().complete(probs[i]);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        worker.interrupt();
        try {
            worker.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Pending p : queue) {
            p.result().completeExceptionally(new IllegalStateException("server stopping"));
        }
    }
}
