package io.softprompt.model.t5;

/** Test access to T5Model's bucket function. */
public final class T5ModelBuckets {
    private T5ModelBuckets() {}

    public static long[] of(int qStart, int q, int k, boolean bidirectional) {
        return T5Model.buckets(qStart, q, k, bidirectional, 32, 128);
    }
}
