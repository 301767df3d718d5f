package io.softprompt.data;

import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/** Built-in tasks and their sample data, packaged from configs/ and data/samples/ into the jar. */
final class BuiltIn {
    private BuiltIn() {}

    static Task task(String name) {
        String res = "/configs/" + name + ".json";
        try (InputStream in = BuiltIn.class.getResourceAsStream(res)) {
            if (in == null) {
                throw new UserException("built-in task '" + name + "' is missing from the distribution");
            }
            return Task.parse(in, "(built-in) configs/" + name + ".json", null);
        } catch (IOException e) {
            throw new UserException("built-in task '" + name + "': " + e.getMessage());
        }
    }

    /** A data path of a built-in task, relative to configs/ (e.g. ../data/samples/sst2/train.tsv). */
    static DataSource data(String task, String rel) {
        String normalized = Path.of("/configs").resolve(rel).normalize().toString();
        return DataSource.resource(normalized);
    }
}
