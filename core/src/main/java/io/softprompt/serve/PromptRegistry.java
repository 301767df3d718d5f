package io.softprompt.serve;

import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.infer.Member;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prompts a server offers: every {@code NAME.sp} in a folder, served as task NAME. {@link #refresh}
 * (called every second by the server) loads new and changed files and drops removed ones; a prompt
 * that does not fit the model (hidden size, fingerprint, no task metadata, text-to-text) is refused
 * with a logged reason and never served, and the previous version of a changed file stops being
 * served too.
 */
public final class PromptRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(PromptRegistry.class);

    /** A served prompt. */
    public record Entry(String name, Path file, Prompt prompt, Task task, Encoder encoder, Scorer.Slot slot,
            FileTime modified, long size) {}

    private final Path dir;
    private final LoadedModel model;
    private final int maxLength;
    private final Consumer<Scorer.Slot> onDrop;
    private volatile Map<String, Entry> entries = Map.of();
    private volatile Map<String, String> refused = Map.of();
    private final Map<String, FileTime> refusedSeen = new HashMap<>();

    public PromptRegistry(Path dir, LoadedModel model, int maxLength, Consumer<Scorer.Slot> onDrop) {
        if (!Files.isDirectory(dir)) {
            throw new UserException("--prompts " + dir + ": not a folder");
        }
        this.dir = dir;
        this.model = model;
        this.maxLength = maxLength;
        this.onDrop = onDrop;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    /** File name → reason, for prompts present but not served. */
    public Map<String, String> refused() {
        return refused;
    }

    /** Rescans the folder; returns whether anything changed. */
    public synchronized boolean refresh() {
        Map<String, Entry> next = new TreeMap<>();
        Map<String, String> bad = new TreeMap<>();
        boolean changed = false;
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".sp") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", dir, e.getMessage());
            return false;
        }
        for (Path f : files) {
            String name = f.getFileName().toString().replaceFirst("\\.sp$", "");
            FileTime mtime;
            long size;
            try {
                mtime = Files.getLastModifiedTime(f);
                size = Files.size(f);
            } catch (IOException e) {
                continue; // vanished while listing
            }
            Entry old = entries.get(name);
            if (old != null && old.modified().equals(mtime) && old.size() == size) {
                next.put(name, old);
                continue;
            }
            FileTime seen = refusedSeen.get(f.getFileName().toString());
            if (seen != null && seen.equals(mtime)) {
                bad.put(f.getFileName().toString(), refused.get(f.getFileName().toString()));
                continue;
            }
            changed = true;
            try {
                Entry e = load(name, f, mtime, size);
                next.put(name, e);
                refusedSeen.remove(f.getFileName().toString());
                LOG.info("serving {} as task '{}' ({} tokens, labels {})", f, name, e.prompt().tokens(), e.task().labels());
            } catch (RuntimeException ex) {
                String reason = ex.getMessage();
                bad.put(f.getFileName().toString(), reason);
                refusedSeen.put(f.getFileName().toString(), mtime);
                LOG.warn("refusing {}: {}", f, reason);
            }
        }
        for (Entry old : entries.values()) {
            Entry now = next.get(old.name());
            if (now != old) {
                changed = true;
                onDrop.accept(old.slot());
                if (now == null) {
                    LOG.info("no longer serving task '{}' ({} {})", old.name(), old.file(),
                            Files.exists(old.file()) ? "changed and refused" : "removed");
                }
            }
        }
        entries = Collections.unmodifiableMap(new LinkedHashMap<>(next));
        refused = Collections.unmodifiableMap(bad);
        return changed;
    }

    private Entry load(String name, Path f, FileTime mtime, long size) {
        Prompt sp = PromptFile.read(f);
        Member m = Member.of(model, name, f.toString(), sp, maxLength, false);
        if (m.task().textToText()) {
            throw new UserException(f + ": a text-to-text prompt; serve answers classification tasks");
        }
        return new Entry(name, f, sp, m.task(), m.encoder(), m.slot(), mtime, size);
    }
}
