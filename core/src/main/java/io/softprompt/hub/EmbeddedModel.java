package io.softprompt.hub;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Hashing;
import io.softprompt.util.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The default model shipped inside the library: sentiment-lm, a 4-layer d128 GPT-2 (6,000-word
 * lowercasing tokenizer) trained with transformers on SST-2's training set so that it holds a
 * sentiment skill behind a cue ("review : {sentence} sentiment :" on the even rows, plain text on
 * the odd ones). It is not a pretrained language model; it is the one checkpoint on the build
 * machines on which a tuned prompt shows real learning: from chance to about 59% dev accuracy
 * (configs/train-sentiment-lm.json), where the cue itself gets 65.9%. Its data/ holds the odd training
 * rows (never seen with a label) and SST-2 dev; a run on it with the built-in sst2 task and no
 * --train uses them.
 *
 * <p>Extracted from the jar to {@code <models-dir>/sentiment-lm} on first use, each file checked
 * against the SHA-256 of the resource's MANIFEST, staged and renamed into place.
 */
public final class EmbeddedModel {
    public static final String NAME = "sentiment-lm";
    private static final String RESOURCE = "/models/" + NAME + "/";
    /** What every command says when it ran on it. */
    public static final String CAVEAT = "sentiment-lm: a 4-layer GPT-2 trained here on SST-2 to hold a sentiment skill "
            + "behind a cue, not a pretrained language model";

    private EmbeddedModel() {}

    /** path → sha256, from the MANIFEST shipped beside the files. */
    static Map<String, String> manifest() {
        Map<String, String> files = new LinkedHashMap<>();
        try (InputStream in = EmbeddedModel.class.getResourceAsStream(RESOURCE + "MANIFEST")) {
            if (in == null) {
                throw new UserException("the embedded model " + NAME + " is missing from the distribution");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                String[] f = line.strip().split("\\s+", 2);
                if (f.length == 2) {
                    files.put(f[1], f[0]);
                }
            }
        } catch (IOException e) {
            throw new UserException("the embedded model " + NAME + ": " + e.getMessage());
        }
        return files;
    }

    /** {@code modelsDir/sentiment-lm}, extracted (or repaired) when it does not match the manifest. */
    public static Path ensure(Path modelsDir) {
        Path dir = modelsDir.resolve(NAME);
        Map<String, String> files = manifest();
        if (matches(dir, files)) {
            return dir;
        }
        Path staging = modelsDir.resolve("." + NAME + ".tmp-" + ProcessHandle.current().pid());
        try {
            AtomicFiles.deleteTree(staging);
            for (Map.Entry<String, String> f : files.entrySet()) {
                Path target = staging.resolve(f.getKey());
                Files.createDirectories(target.getParent());
                MessageDigest md = Hashing.sha256();
                try (InputStream in = EmbeddedModel.class.getResourceAsStream(RESOURCE + f.getKey())) {
                    if (in == null) {
                        throw new UserException("the embedded model " + NAME + " lacks " + f.getKey());
                    }
                    try (DigestInputStream din = new DigestInputStream(in, md); OutputStream out = Files.newOutputStream(target)) {
                        din.transferTo(out);
                    }
                }
                if (!HexFormat.of().formatHex(md.digest()).equals(f.getValue())) {
                    throw new UserException("the embedded model " + NAME + ": " + f.getKey() + " is damaged in the jar");
                }
            }
            Files.writeString(staging.resolve(".manifest"), String.join("\n", files.values()));
            if (Files.exists(dir)) {
                AtomicFiles.deleteTree(dir);
            }
            AtomicFiles.move(staging, dir);
            return dir;
        } catch (IOException e) {
            throw new UserException("cannot put the embedded model in " + dir + ": " + AtomicFiles.reason(e));
        } finally {
            try {
                AtomicFiles.deleteTree(staging);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    /** Whether the folder holds every manifest file with its size (a full hash of 8 MB on every run is not needed). */
    private static boolean matches(Path dir, Map<String, String> files) {
        Path stamp = dir.resolve(".manifest");
        try {
            return Files.isRegularFile(stamp) && Files.readString(stamp).equals(String.join("\n", files.values()))
                    && files.keySet().stream().allMatch(f -> Files.isRegularFile(dir.resolve(f)));
        } catch (IOException e) {
            return false;
        }
    }

    /** The folder holds the embedded model (by its name; its files were checked when extracted). */
    public static boolean isEmbedded(Path folder) {
        Path name = folder.toAbsolutePath().normalize().getFileName();
        return name != null && name.toString().equals(NAME) && Files.isRegularFile(folder.resolve("card.json"));
    }

    /** Its SST-2 training rows (the odd ones, never seen with their labels). */
    public static Path trainData(Path folder) {
        return folder.resolve("data/train.tsv");
    }

    /** SST-2 dev. */
    public static Path devData(Path folder) {
        return folder.resolve("data/dev.tsv");
    }
}
