package io.softprompt.cli;

import io.softprompt.infer.BatchScorer;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;

/** What eval and infer share about ensembles of prompts. */
final class Ensembles {
    private Ensembles() {}

    /** Members of an ensemble must be prompts of one classification task with the same labels. */
    static void checkOneTask(PromptOptions.Session s) {
        PromptOptions.Member first = s.members().get(0);
        if (first.task().textToText()) {
            throw new UserException("--ensemble: " + first.file() + " is a text-to-text task; ensembles combine class "
                    + "probabilities");
        }
        for (PromptOptions.Member m : s.members()) {
            if (!m.task().name().equals(first.task().name()) || !m.task().labels().equals(first.task().labels())) {
                throw new UserException("--ensemble: " + m.file() + " is task " + m.task().name() + " " + m.task().labels()
                        + ", but " + first.file() + " is task " + first.task().name() + " " + first.task().labels());
            }
        }
    }

    static List<BatchScorer.Slot> slots(PromptOptions.Session s) {
        List<BatchScorer.Slot> slots = new ArrayList<>();
        for (PromptOptions.Member m : s.members()) {
            slots.add(new BatchScorer.Slot(m.prompt().values(), m.prompt().tokens(), m.encoder().labels()));
        }
        return slots;
    }
}
