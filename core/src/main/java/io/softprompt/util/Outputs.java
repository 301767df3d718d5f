package io.softprompt.util;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The one rule for what a command writes where the user told it to. Every output goes through here:
 *
 * <ul>
 *   <li>A file is written atomically (temp file + rename, {@link AtomicFiles}): a reader, a crash or a
 *       full disk sees the old content or the whole new one, never half.</li>
 *   <li>An existing file is replaced only with {@code force}; a folder where a file is due is refused.</li>
 *   <li>A folder output (a PEFT adapter, a report) is staged beside its place and swapped in whole.
 *       With {@code force} it replaces a folder that holds only files softprompt wrote there, as its
 *       manifest ({@value #MANIFEST}) lists them; a folder holding anything else is refused even with
 *       {@code force}, naming one such file: nothing of the user's is ever deleted.</li>
 *   <li>A failure is a {@link UserException} (exit 2) naming the flag and path with the OS's reason
 *       ("Read-only file system", "No space left on device"), and leaves no temp file behind.</li>
 * </ul>
 *
 * {@code label} names the flag or argument the path came from ("--output", "OUT"), so the message
 * points at what the user typed.
 */
public final class Outputs {
    /** The list of files softprompt wrote into a folder output, one name a line. */
    public static final String MANIFEST = ".softprompt-files";

    private Outputs() {}

    /**
     * How a folder output written before manifests is known: {@code names}, the files its writer left,
     * and {@code marks}, those of them it always wrote and no other tool writes. A folder without a
     * manifest is softprompt's only when it holds every mark (a PEFT-written adapter holds PEFT's two
     * files and not softprompt.json: it is the user's, and {@code --force} leaves it alone).
     */
    public record Legacy(Set<String> names, Set<String> marks) {
        /** An output that always had a manifest. */
        public static final Legacy NONE = new Legacy(Set.of(), Set.of());

        public Legacy {
            if (marks.isEmpty() != names.isEmpty() || !names.containsAll(marks)) {
                throw new IllegalArgumentException("a legacy output needs marks among its names");
            }
        }
    }

    /**
     * Checks, before any long work, that {@code file} can be written: not a folder, new unless
     * {@code force}, its folder creatable and writable (probed with a real file, so the OS's reason
     * comes out now rather than after training).
     */
    public static void checkFile(String label, Path file, boolean force) {
        if (Files.isDirectory(file)) {
            throw new UserException(label + " " + file + ": is a folder; name the file to write");
        }
        if (Files.exists(file) && !force) {
            throw new UserException(label + " " + file + ": exists; pass {{force}} to overwrite it");
        }
        probe(label, file, file.toAbsolutePath().getParent());
    }

    /** Writes {@code file} whole or not at all, after {@link #checkFile}. */
    public static void file(String label, Path file, boolean force, AtomicFiles.Writer writer) {
        checkFile(label, file, force);
        replaceFile(label, file, writer);
    }

    /** Writes (or rewrites) a file softprompt owns, such as a run folder's, atomically, with the OS's reason on failure. */
    public static void replaceFile(String label, Path file, AtomicFiles.Writer writer) {
        try {
            AtomicFiles.write(file, writer);
        } catch (IOException e) {
            throw failed(label, file, e);
        } catch (UncheckedIOException e) {
            throw failed(label, file, e.getCause());
        }
    }

    public static void replaceString(String label, Path file, String content) {
        replaceFile(label, file, out -> out.write(content.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Checks that {@code dir} can take a folder output: absent, empty, or (with {@code force}) holding
     * only files softprompt wrote: those its manifest lists, or for a folder written before manifests
     * existed and holding {@code legacy}'s marks, its names. Returns the files of ours it holds.
     */
    public static Set<String> checkFolder(String label, Path dir, boolean force, Legacy legacy) {
        if (!Files.exists(dir)) {
            probe(label, dir, dir.toAbsolutePath().normalize().getParent());
            return Set.of();
        }
        if (!Files.isDirectory(dir)) {
            throw new UserException(label + " " + dir + ": exists and is not a folder");
        }
        List<String> present = list(label, dir);
        if (present.isEmpty()) {
            probe(label, dir, dir);
            return Set.of();
        }
        if (!force) {
            throw new UserException(label + " " + dir + ": exists; pass {{force}} to replace what softprompt wrote there");
        }
        Set<String> ours = new LinkedHashSet<>();
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest) && present.containsAll(legacy.marks())) {
            ours.addAll(legacy.names()); // written before manifests: our marks say so (another tool's folder has none)
        }
        if (Files.isRegularFile(manifest)) {
            try {
                Files.readAllLines(manifest, StandardCharsets.UTF_8).stream().map(String::strip)
                        .filter(s -> !s.isEmpty() && !s.contains("/") && !s.contains("\\")).forEach(ours::add);
            } catch (IOException e) {
                throw new UserException(label + " " + manifest + ": cannot read: " + AtomicFiles.reason(e));
            }
            ours.add(MANIFEST);
        }
        for (String name : present) {
            Path p = dir.resolve(name);
            if (!ours.contains(name) || !Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new UserException(label + " " + dir + ": holds " + UserException.quote(name) + ", which softprompt did "
                        + "not write; {{force}} replaces only softprompt's own files, so choose a new or empty folder");
            }
        }
        probe(label, dir, dir);
        return new LinkedHashSet<>(present);
    }

    /**
     * Writes a folder output: every file of {@code files} (name → content) plus the manifest (none when
     * {@code legacy} names exactly these files: the names alone say they are ours), staged in a
     * sibling folder, then swapped in for {@code dir} in one rename. What the old folder held (only
     * our files, as {@link #checkFolder} proved) is deleted after the swap.
     */
    public static void folder(String label, Path dir, boolean force, Legacy legacy,
            Map<String, AtomicFiles.Writer> files) {
        folder(label, dir, force, legacy, files.keySet().equals(legacy.names()) ? null : MANIFEST, stage -> {
            for (var e : files.entrySet()) {
                AtomicFiles.write(stage.resolve(e.getKey()), e.getValue());
            }
        });
    }

    /** What fills a staging folder with an output's files (plain files, no subfolders). */
    @FunctionalInterface
    public interface Filler {
        void fill(Path stage) throws IOException;
    }

    /**
     * A folder output whose files {@code filler} writes into a staging folder beside {@code dir}; the
     * manifest is made from what it wrote, then the folder is swapped in as {@link #folder} does.
     */
    public static void folder(String label, Path dir, boolean force, Legacy legacy, Filler filler) {
        folder(label, dir, force, legacy, MANIFEST, filler);
    }

    /** As above; manifest null for an output whose file names are fixed ({@code legacy} names them all). */
    private static void folder(String label, Path dir, boolean force, Legacy legacy, String manifest, Filler filler) {
        Set<String> old = checkFolder(label, dir, force, legacy);
        Path abs = dir.toAbsolutePath().normalize();
        long pid = ProcessHandle.current().pid();
        Path stage = abs.resolveSibling("." + abs.getFileName() + ".tmp-" + pid);
        Path retired = abs.resolveSibling("." + abs.getFileName() + ".old-" + pid);
        try {
            deleteOurs(stage);
            Files.createDirectories(stage);
            filler.fill(stage);
            if (manifest != null) {
                List<String> written = list(label, stage);
                written.remove(manifest);
                AtomicFiles.writeString(stage.resolve(manifest), String.join("\n", written) + "\n");
            }
            if (Files.exists(abs)) {
                try {
                    Files.move(abs, retired, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileSystemException e) { // a mount point (a container volume) cannot be renamed: fill it in place
                    inPlace(abs, stage, old, manifest);
                    return;
                }
                try {
                    Files.move(stage, abs, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Files.move(retired, abs, StandardCopyOption.ATOMIC_MOVE); // put the old one back
                    throw e;
                }
                for (String name : old) {
                    Files.deleteIfExists(retired.resolve(name));
                }
                try {
                    Files.deleteIfExists(retired);
                } catch (DirectoryNotEmptyException e) {
                    // something appeared there meanwhile: not ours, so it stays where it is
                }
            } else {
                Files.move(stage, abs, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw failed(label, dir, e);
        } catch (UncheckedIOException e) {
            throw failed(label, dir, e.getCause());
        } finally {
            try {
                deleteOurs(stage);
            } catch (IOException ignored) {
                // a staging folder we could not remove: the write already failed or succeeded as said
            }
        }
    }

    /**
     * Writes the staged files into {@code dir} itself, each atomically, for a folder that cannot be
     * swapped. The manifest goes first and names old and new files alike, so that a run cut short
     * leaves a folder {@code --force} still knows as ours; it is rewritten to the new files at the end.
     */
    static void inPlace(Path dir, Path stage, Set<String> old, String manifest) throws IOException {
        List<String> written = list("", stage);
        written.remove(manifest);
        if (manifest != null) {
            Set<String> both = new LinkedHashSet<>(old);
            both.addAll(written);
            both.remove(manifest);
            AtomicFiles.writeString(dir.resolve(manifest), String.join("\n", both) + "\n");
        }
        for (String name : written) {
            AtomicFiles.write(dir.resolve(name), out -> Files.copy(stage.resolve(name), out));
        }
        for (String name : old) {
            if (!written.contains(name) && !name.equals(manifest)) {
                Files.deleteIfExists(dir.resolve(name));
            }
        }
        if (manifest != null) {
            AtomicFiles.writeString(dir.resolve(manifest), String.join("\n", written) + "\n");
        }
    }

    /** A failed write as the user sees it: the flag, the path, the OS's reason. */
    public static UserException failed(String label, Path path, IOException e) {
        return new UserException((label == null || label.isEmpty() ? "" : label + " ") + path + ": cannot write: "
                + AtomicFiles.reason(e), e);
    }

    /**
     * Refuses a folder this process could not create files in — a file where it should be, a file on
     * its way, a parent it may not write — without creating anything (a check made before any work).
     */
    public static void checkWritableFolder(String label, Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return; // nothing of it exists, not even a root: creating it will say why
        }
        if (!Files.isDirectory(existing)) {
            throw new UserException(label + " " + dir + ": " + (existing.equals(abs) ? "not a folder" : existing + " is a file"));
        }
        if (!Files.isWritable(existing)) {
            throw new UserException(label + " " + dir + ": cannot write in " + existing + " (not writable)");
        }
    }

    /**
     * Checks that this process can create files in {@code dir} (created if missing), by creating one:
     * the OS's reason ("Read-only file system", "Permission denied") comes out now, not after the work.
     */
    public static void probe(String label, Path target, Path dir) {
        if (dir == null) {
            dir = Path.of("").toAbsolutePath();
        }
        Path probe = null;
        try {
            Files.createDirectories(dir);
            probe = Files.createTempFile(dir, ".softprompt-probe-", ".tmp");
            // a byte written and synced: a full disk refuses it, where creating an empty file still works
            try (var ch = java.nio.channels.FileChannel.open(probe, java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {0}));
                ch.force(false);
            }
        } catch (IOException e) {
            throw new UserException(label + " " + target + ": cannot write in " + dir + ": " + AtomicFiles.reason(e));
        } finally {
            if (probe != null) {
                try {
                    Files.deleteIfExists(probe);
                } catch (IOException ignored) {
                    // the probe's own name: nothing of the user's
                }
            }
        }
    }

    private static List<String> list(String label, Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = new ArrayList<>();
            s.forEach(p -> names.add(p.getFileName().toString()));
            names.sort(Comparator.naturalOrder());
            return names;
        } catch (IOException e) {
            throw new UserException(label + " " + dir + ": cannot list: " + AtomicFiles.reason(e));
        }
    }

    /** Removes a staging folder of ours (plain files only, one level). */
    private static void deleteOurs(Path stage) throws IOException {
        if (!Files.isDirectory(stage)) {
            return;
        }
        try (Stream<Path> s = Files.list(stage)) {
            for (Path p : s.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(stage);
    }
}
