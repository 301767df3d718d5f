package io.softprompt;

import ai.djl.ndarray.NDManager;

/** DJL's count of open native arrays in this JVM, the leak tests' measure (not wall-clock RSS alone). */
public final class OpenArrays {
    private OpenArrays() {}

    /** Arrays open in this JVM: everything under DJL's system manager, every sub-manager included (model weights too). */
    public static int count() {
        try (NDManager probe = NDManager.newBaseManager()) {
            return probe.getParentManager().getManagedArrays().size();
        }
    }
}
