package io.softprompt.infer;

import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prompts a server offers: every {@code NAME.sp} directly inside a folder, served as task NAME.
 * {@link #refresh} (called every second by the server) loads new and changed files and drops removed
 * ones; a prompt that does not fit the model (hidden size, fingerprint, no task metadata,
 * text-to-text, values that make the output non-finite) is refused and never served, and the
 * previous version of a changed file stops being served too.
 *
 * <p>Only regular files are read: a symbolic link is followed only when it resolves to a regular
 * file inside the folder itself, so a link cannot expose a file from elsewhere; sub-folders, devices
 * and pipes are ignored. What clients see of a refused file is a fixed reason, never text from inside
 * it; the full reason goes to the server's log.
 */
public final class PromptRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(PromptRegistry.class);
    /** A task name a URL and a file system both take: letters, digits, '.', '_', '-'. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /** A served prompt: its task name, file, the prompt fitted to the model, and the file's version. */
    public record Entry(String name, Path file, Member member, FileTime modified, long size) {
        public Prompt prompt() {
            return member.prompt();
        }

        public Task task() {
            return member.task();
        }

        public Encoder encoder() {
            return member.encoder();
        }

        public Scorer.Slot slot() {
            return member.slot();
        }
    }

    /** Why a file is not served, as clients are told: a fixed wording that quotes nothing from the file. */
    enum Refusal {
        NAME("the file name is not a task name (letters, digits, '.', '_', '-')"),
        LINK("a symbolic link leading outside the prompts folder, or to something other than a file"),
        UNREADABLE("not a valid .sp file"),
        NO_TASK("no usable task metadata (task, template, verbalizer)"),
        FINGERPRINT("trained on another base model (fingerprint)"),
        NON_FINITE("its values make the model's output non-finite"),
        TEXT_TO_TEXT("a text-to-text prompt; serve answers classification tasks"),
        NO_ROOM("its prompt length leaves no room for text in the model's positions");

        final String reason;

        Refusal(String reason) {
            this.reason = reason;
        }
    }

    /** A refusal with the full reason (for the log) and the one clients see (fixed words, or numbers we parsed). */
    private static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final String shown;

        Refused(Refusal kind, String detail) {
            this(kind.reason, detail);
        }

        Refused(String shown, String detail) {
            super(detail, null, false, false);
            this.shown = shown;
        }
    }

    private final Path dir;
    private final Path realDir;
    private final LoadedModel model;
    private final Integer maxLength;
    private final Consumer<Scorer.Slot> onDrop;
    private final boolean textToText;
    private volatile Map<String, Entry> entries = Map.of();
    private volatile Map<String, String> refused = Map.of();
    private final Map<String, FileTime> refusedSeen = new HashMap<>();

    public PromptRegistry(Path dir, LoadedModel model, int maxLength, Consumer<Scorer.Slot> onDrop) {
        this(dir, model, Integer.valueOf(maxLength), onDrop, false);
    }

    /**
     * A registry under the same file rules that also takes text-to-text prompts when {@code textToText}
     * (batch scoring generates for them; serve does not); maxLength null: each prompt's trained length.
     */
    public PromptRegistry(Path dir, LoadedModel model, Integer maxLength, Consumer<Scorer.Slot> onDrop, boolean textToText) {
        if (!Files.isDirectory(dir)) {
            throw new UserException("{{prompts}} " + dir + ": not a folder");
        }
        this.dir = dir;
        try {
            this.realDir = dir.toRealPath();
        } catch (IOException e) {
            throw new UserException("{{prompts}} " + dir + ": " + e.getMessage());
        }
        this.model = model;
        this.maxLength = maxLength;
        this.onDrop = onDrop;
        this.textToText = textToText;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    /** File name → reason, for .sp files present but not served. */
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
            files = s.filter(p -> p.getFileName().toString().endsWith(".sp")).sorted().toList();
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", dir, e.getMessage());
            return false;
        }
        for (Path f : files) {
            String file = f.getFileName().toString();
            String name = file.substring(0, file.length() - 3);
            BasicFileAttributes attrs;
            try {
                attrs = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (attrs.isDirectory() || attrs.isOther()) {
                    continue; // a folder, device or pipe named *.sp is not a prompt
                }
                if (attrs.isSymbolicLink()) {
                    Path target = f.toRealPath();
                    if (!target.getParent().equals(realDir) || !Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
                        changed |= refuse(bad, file, FileTime.fromMillis(0), new Refused(Refusal.LINK, f + " -> " + target));
                        continue;
                    }
                    attrs = Files.readAttributes(target, BasicFileAttributes.class);
                }
            } catch (IOException e) {
                continue; // vanished while listing, or a dangling link
            }
            FileTime mtime = attrs.lastModifiedTime();
            long size = attrs.size();
            Entry old = entries.get(name);
            if (old != null && old.modified().equals(mtime) && old.size() == size) {
                next.put(name, old);
                continue;
            }
            FileTime seen = refusedSeen.get(file);
            if (seen != null && seen.equals(mtime)) {
                bad.put(file, refused.get(file));
                continue;
            }
            changed = true;
            try {
                Entry e = load(name, f, mtime, size);
                next.put(name, e);
                refusedSeen.remove(file);
                LOG.info("serving {} as task '{}' ({} tokens, labels {})", f, name, e.prompt().tokens(), e.task().labels());
            } catch (Refused r) {
                refuse(bad, file, mtime, r);
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

    private boolean refuse(Map<String, String> bad, String file, FileTime mtime, Refused r) {
        bad.put(file, r.shown);
        boolean fresh = !mtime.equals(refusedSeen.get(file));
        if (fresh) {
            LOG.warn("refusing {}: {}", file, r.getMessage());
        }
        refusedSeen.put(file, mtime);
        return fresh;
    }

    private Entry load(String name, Path f, FileTime mtime, long size) {
        if (!NAME.matcher(name).matches()) {
            throw new Refused(Refusal.NAME, f + ": the name '" + name + "' is not a task name");
        }
        Prompt sp;
        try {
            sp = PromptFile.read(f);
        } catch (UserException e) {
            throw new Refused(Refusal.UNREADABLE, e.getMessage());
        }
        try {
            sp.task(f.toString());
        } catch (UserException e) {
            throw new Refused(Refusal.NO_TASK, e.getMessage());
        }
        int width = sp.site().width(model.lm());
        if (sp.hidden() != width) { // a deep prompt's width is layers·2·key/value heads·head size, not the hidden size
            String what = sp.site() == PromptSite.DEEP ? "deep prompt width" : "hidden size";
            throw new Refused("its " + what + " " + sp.hidden() + " does not match the model's " + width,
                    f + ": " + what + " " + sp.hidden() + ", model " + width
                            + (sp.site() == PromptSite.DEEP ? " (layers·2·key/value heads·head size)" : ""));
        }
        String fp = sp.meta(PromptFile.MODEL_FINGERPRINT);
        if (fp != null && !fp.equals(model.fingerprint())) {
            throw new Refused(Refusal.FINGERPRINT, f + ": fingerprint " + fp + ", model " + model.fingerprint());
        }
        if (!textToText && sp.task(f.toString()).textToText()) {
            throw new Refused(Refusal.TEXT_TO_TEXT, f + ": a text-to-text prompt");
        }
        Member m;
        try {
            m = Member.of(model, name, f.toString(), sp, maxLength, false);
        } catch (Member.NonFinite e) {
            throw new Refused(Refusal.NON_FINITE, e.getMessage());
        } catch (UserException e) {
            throw new Refused(Refusal.NO_ROOM, e.getMessage());
        }
        return new Entry(name, f, m, mtime, size);
    }
}
