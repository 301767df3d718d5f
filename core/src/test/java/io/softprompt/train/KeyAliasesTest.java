package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import org.junit.jupiter.api.Test;

/**
 * Issue 35: Hugging Face's and PEFT's names for training keys (learning_rate, num_virtual_tokens,
 * per_device_train_batch_size, max_steps, num_train_epochs, ...) are taken as aliases, declared once
 * as the keys' flag aliases; an unknown name is answered with the nearest key.
 */
class KeyAliasesTest {
    @Test
    void huggingFaceNamesAreAliases() throws Exception {
        TrainConfig c = TrainConfig.overlay(TrainConfig.defaults(), Json.MAPPER.readTree("{\"learning_rate\": 0.1, \"max_steps\": 7,"
                + " \"num_virtual_tokens\": 5, \"per_device_train_batch_size\": 4, \"gradient_accumulation_steps\": 2,"
                + " \"max_grad_norm\": 1.0, \"eval_steps\": 3, \"logging_steps\": 1, \"save_steps\": 9}"), "cfg.json");
        assertEquals(0.1, c.lr());
        assertEquals(7, c.steps());
        assertEquals(5, c.tokens());
        assertEquals(4, c.batchSize());
        assertEquals(2, c.gradAccum());
        assertEquals(1.0, c.clipNorm());
        assertEquals(3, c.evalEvery());
        assertEquals(1, c.logEvery());
        assertEquals(9, c.checkpointEvery());
        TrainConfig epochs = TrainConfig.overlay(TrainConfig.defaults(), Json.MAPPER.readTree("{\"num_train_epochs\": 2}"), "cfg.json");
        assertEquals(2, epochs.epochs());
    }

    @Test
    void anUnknownNameIsAnsweredWithTheNearestKey() throws Exception {
        for (String[] c : new String[][] {{"learnng_rate", "lr"}, {"batchsize", "batch_size"}, {"num_virtual_token", "tokens"},
            {"eval_evry", "eval_every"}}) {
            UserException e = assertThrows(UserException.class,
                    () -> TrainConfig.overlay(TrainConfig.defaults(), Json.MAPPER.readTree("{\"" + c[0] + "\": 1}"), "cfg.json"));
            assertTrue(e.getMessage().contains("unknown key '" + c[0] + "'; did you mean '" + c[1] + "'?"), e.getMessage());
        }
        UserException both = assertThrows(UserException.class,
                () -> TrainConfig.overlay(TrainConfig.defaults(), Json.MAPPER.readTree("{\"lr\": 0.1, \"learning_rate\": 0.2}"), "c"));
        assertTrue(both.getMessage().contains("both 'lr' and its alias 'learning_rate'"), both.getMessage());
    }
}
