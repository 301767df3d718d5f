package io.softprompt.cli;

import io.softprompt.infer.Member;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;

/** What eval and infer share about ensembles of prompts. */
final class Ensembles {
    private Ensembles() {}

    /** Members of an ensemble must be prompts of one classification task with the same labels. */
    static void checkOneTask(PromptOptions.Session s) {
        Member first = s.first();
        if (first.task().textToText()) {
            throw new UserException("--ensemble: " + first.source() + " is a text-to-text task; ensembles combine class "
                    + "probabilities");
        }
        for (Member m : s.members()) {
            if (!m.task().name().equals(first.task().name()) || !m.task().labels().equals(first.task().labels())) {
                throw new UserException("--ensemble: " + m.source() + " is task " + m.task().name() + " " + m.task().labels()
                        + ", but " + first.source() + " is task " + first.task().name() + " " + first.task().labels());
            }
        }
    }

    static List<Scorer.Slot> slots(PromptOptions.Session s) {
        List<Scorer.Slot> slots = new ArrayList<>();
        for (Member m : s.members()) {
            slots.add(m.slot());
        }
        return slots;
    }
}
