package io.softprompt.data;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Where rows come from: a file, or a sample shipped inside the jar. The name appears in errors. */
public record DataSource(String name, Path path, String resource) {
    public static DataSource file(Path p) {
        return new DataSource(p.toString(), p, null);
    }

    public static DataSource resource(String resource) {
        return new DataSource("(built-in) " + resource, null, resource);
    }

    /** The file's lines, each checked to be UTF-8 (errors name the line). */
    public Lines lines() {
        return new Lines(stream(), name);
    }

    /** The file's bytes. */
    InputStream stream() {
        try {
            if (path != null) {
                return Files.newInputStream(path);
            }
            InputStream in = DataSource.class.getResourceAsStream(resource);
            if (in == null) {
                throw new UserException(name + ": not found in the distribution");
            }
            return in;
        } catch (NoSuchFileException e) {
            throw new UserException(name + ": file not found");
        } catch (IOException e) {
            throw new UserException(name + ": cannot read: " + AtomicFiles.reason(e));
        }
    }

    public BufferedReader open() {
        try {
            if (path != null) {
                return Files.newBufferedReader(path, StandardCharsets.UTF_8);
            }
            InputStream in = DataSource.class.getResourceAsStream(resource);
            if (in == null) {
                throw new UserException(name + ": not found in the distribution");
            }
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new UserException(name + ": file not found");
        } catch (IOException e) {
            throw new UserException(name + ": cannot read: " + AtomicFiles.reason(e));
        }
    }
}
