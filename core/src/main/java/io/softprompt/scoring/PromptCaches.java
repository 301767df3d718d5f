package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.KvCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.util.Tensors;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The scorer's prefix caches, B = 1 each, computed on first use and kept until forgotten: a prompt's
 * keys and values at every layer (an input prompt run through the model, a deep prompt's table laid
 * out as its cache), and the same followed by its task's shared head (a chat's system turn and header,
 * {@link Encoder#sharedHead}), which then runs once per prompt instead of once per row.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, T tokens (here the shared head's), D hidden size.
 */
final class PromptCaches implements AutoCloseable {
    private final LanguageModel lm;
    private final NDManager manager;
    private final Map<Scorer.Slot, KvCache> prompts = new ConcurrentHashMap<>();
    private final Map<Scorer.Slot, KvCache> headed = new ConcurrentHashMap<>();
    private final Queue<Scorer.Slot> forgotten = new ConcurrentLinkedQueue<>();

    PromptCaches(LanguageModel lm) {
        this.lm = lm;
        this.manager = NDManager.newBaseManager(lm.device());
    }

    /** The prompt's keys and values at every layer. */
    KvCache prompt(Scorer.Slot slot) {
        return prompts.computeIfAbsent(slot, sl -> sl.site().prefix(manager, lm, sl.values(), sl.tokens()));
    }

    /** The prompt's cache followed by its task's shared head, run through the model once. */
    KvCache withHead(Scorer.Slot slot) {
        return headed.computeIfAbsent(slot, sl -> {
            KvCache c = sl.site().prefix(manager, lm, sl.values(), sl.tokens());
            int h = sl.head().length;
            try (NDManager scope = manager.newSubManager()) {
                NDArray head = lm.embed(Tensors.create(scope, sl.head(), new Shape(1, h)));       // [1, T, D]
                lm.forward(head, scope.ones(new Shape(1, sl.tokens() + h), DataType.INT64), c);
            }
            return c;
        });
    }

    /**
     * How many leading ids of a row its slot's cached head stands for: the head's length when the row
     * begins with it and reads its answer after it, else 0 (a row cut into its head runs whole). A prompt
     * entering above the bottom keeps no head: its cache holds nothing in the layers below its first, where
     * the row's tokens run apart ({@link LanguageModel#entry}) and would not see a head kept there; the head
     * runs as part of each row (kept with it by an activation cache).
     */
    int shared(Scorer.Slot slot, Encoder.Encoded row) {
        long[] h = slot.head();
        if (h.length == 0 || row.position() < h.length || slot.site().firstLayer(lm) > 0) {
            return 0;
        }
        for (int j = 0; j < h.length; j++) {
            if (row.ids()[j] != h[j]) {
                return 0;
            }
        }
        return h.length;
    }

    /** Marks a slot's caches for dropping; safe from any thread. */
    void forget(Scorer.Slot slot) {
        forgotten.add(slot);
    }

    /** Drops the forgotten slots' caches: called by the scoring thread, before or after a batch. */
    void dropForgotten() {
        for (Scorer.Slot s; (s = forgotten.poll()) != null; ) {
            for (Map<Scorer.Slot, KvCache> m : List.of(prompts, headed)) {
                KvCache c = m.remove(s);
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    @Override
    public void close() {
        prompts.values().forEach(KvCache::close);
        headed.values().forEach(KvCache::close);
        prompts.clear();
        headed.clear();
        manager.close();
    }
}
