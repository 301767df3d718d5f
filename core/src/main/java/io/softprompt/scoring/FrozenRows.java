package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.util.Tensors;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The states entering a prompt's first layer for a scoring batch whose rows may repeat: an ensemble's
 * members, or several tasks' prompts entering at one layer, scoring one text. The frozen layers below run
 * once per distinct row (its ids and mask), and each repeat reads its row's states.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, U distinct rows, T tokens, P cached positions, D hidden size.
 */
final class FrozenRows {
    private FrozenRows() {}

    /**
     * Rows' ids [B·T] and key mask [B·(P + T)] (their prompts' P columns, then their tokens') → the states
     * entering {@code layer} [B, T, D], the tokens at positions P onwards.
     */
    static NDArray entering(LanguageModel lm, NDManager m, long[] ids, long[] mask, int b, int p, int t, int layer) {
        Map<LongBuffer, Integer> distinct = new HashMap<>();
        List<Integer> firsts = new ArrayList<>();
        long[] index = new long[b];
        for (int i = 0; i < b; i++) {
            long[] key = new long[2 * t];
            System.arraycopy(ids, i * t, key, 0, t);
            System.arraycopy(mask, i * (p + t) + p, key, t, t);
            Integer at = distinct.putIfAbsent(LongBuffer.wrap(key), firsts.size());
            if (at == null) {
                at = firsts.size();
                firsts.add(i);
            }
            index[i] = at;
        }
        int u = firsts.size();
        long[] rowIds = new long[u * t];
        long[] own = new long[u * t];
        for (int r = 0; r < u; r++) {
            int i = firsts.get(r);
            System.arraycopy(ids, i * t, rowIds, r * t, t);
            System.arraycopy(mask, i * (p + t) + p, own, r * t, t);
        }
        NDArray states = lm.entry(Tensors.create(m, rowIds, new Shape(u, t)), Tensors.create(m, own, new Shape(u, t)), layer, p); // [U, T, D]
        if (u == b) {
            return states;
        }
        long d = states.getShape().get(2);
        return Layers.embedding(Tensors.create(m, index), states.reshape(u, t * d)).reshape(b, t, d); // [B, T, D]
    }
}
