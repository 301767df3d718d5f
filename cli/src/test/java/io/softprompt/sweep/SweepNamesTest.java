package io.softprompt.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/** Issue 35: the report named data files by their stem only, so two data sets' train.tsv both read "train". */
class SweepNamesTest {
    @Test
    void aDataFileIsNamedByItsFolderAndName() {
        assertEquals("sst2/train.tsv", SweepRuns.shortName("/home/u/data/sst2/train.tsv"));
        assertNotEquals(SweepRuns.shortName("/d/sst2/train.tsv"), SweepRuns.shortName("/d/imdb/train.tsv"));
        assertEquals("configs/mood.json", SweepRuns.shortName("/repo/configs/mood.json"));
        assertEquals("gpt2", SweepRuns.shortName("gpt2"));
        assertEquals("org/model", SweepRuns.shortName("org/model"));
        assertEquals("data/dev.csv", SweepRuns.shortName("C:\\Users\\u\\data\\dev.csv"));
    }
}
