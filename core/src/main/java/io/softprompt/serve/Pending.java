package io.softprompt.serve;

import io.softprompt.data.Encoder;
import io.softprompt.infer.MultiTask;
import io.softprompt.infer.PromptRegistry;
import io.softprompt.scoring.Generator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One item waiting in the {@link MicroBatcher} for its answer: a row to classify, or a request to
 * generate for. Each carries a future of its own answer's type and renders that answer's fields.
 */
sealed interface Pending permits Pending.Classify, Pending.Generate {
    /** The served prompt the item is for. */
    PromptRegistry.Entry entry();

    /** The answer to come (completed by the batcher, exceptionally when its batch fails). */
    CompletableFuture<?> result();

    /** What the item asks for, in an error message: {@code scoring} or {@code generation}. */
    String work();

    /**
     * Waits for the answer and returns its fields as the predict route returns them.
     *
     * @param nanos how long to wait at most
     * @return the answer's fields
     * @throws TimeoutException when it did not come in time
     * @throws ExecutionException when its batch failed
     * @throws InterruptedException when the waiting thread was interrupted
     */
    Map<String, Object> await(long nanos) throws TimeoutException, ExecutionException, InterruptedException;

    /** A classification item: its encoded row, answered with class probabilities. */
    record Classify(PromptRegistry.Entry entry, Encoder.Encoded row, CompletableFuture<float[]> result) implements Pending {
        Classify(PromptRegistry.Entry entry, Encoder.Encoded row) {
            this(entry, row, new CompletableFuture<>());
        }

        @Override
        public String work() {
            return "scoring";
        }

        @Override
        public Map<String, Object> await(long nanos) throws TimeoutException, ExecutionException, InterruptedException {
            MultiTask.Answer a = MultiTask.classified(entry.member(), result.get(nanos, TimeUnit.NANOSECONDS));
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("label", a.label());
            r.put("word", a.word());
            r.put("probabilities", a.probabilities());
            return r;
        }
    }

    /** A text-to-text item: its generation request, answered with the generated text. */
    record Generate(PromptRegistry.Entry entry, Generator.Request request, CompletableFuture<Generator.Output> result)
            implements Pending {
        Generate(PromptRegistry.Entry entry, Generator.Request request) {
            this(entry, request, new CompletableFuture<>());
        }

        @Override
        public String work() {
            return "generation";
        }

        @Override
        public Map<String, Object> await(long nanos) throws TimeoutException, ExecutionException, InterruptedException {
            Generator.Output g = result.get(nanos, TimeUnit.NANOSECONDS);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("generated", g.text());
            r.put("finish_reason", g.finish());
            r.put("tokens", g.ids().length);
            if (request.decoding().sample()) {
                r.put("seed", request.decoding().seed());
            }
            return r;
        }
    }
}
