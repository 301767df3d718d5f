package io.softprompt.cli;

import io.softprompt.data.DataFormat;
import io.softprompt.data.DataSource;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import java.util.List;
import picocli.CommandLine.Option;

/** How eval and inspect read --data: its format and, when the file names them otherwise, its columns (as train's keys). */
public final class DataOptions {
    @Option(names = "--format", paramLabel = "auto|tsv|csv|jsonl", defaultValue = "auto",
            description = "How --data is read (default: by extension: .csv, .jsonl, else TSV).")
    String format;

    @Option(names = "--text-column", paramLabel = "NAME", description = "The data's text column, instead of the task's.")
    String textColumn;

    @Option(names = "--label-column", paramLabel = "NAME",
            description = "The data's label column (a text-to-text task's target column), instead of the task's.")
    String labelColumn;

    /** The labelled rows of {@code src}, read as {@code task}'s with these columns. */
    List<Example> read(DataSource src, Task task) {
        return TsvReader.read(src, task.withColumns(textColumn, labelColumn), true, DataFormat.parse(format));
    }
}
