package io.softprompt.loader;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.ModelFolder;
import io.softprompt.model.TextTokenizer;
import io.softprompt.util.Hashing;
import io.softprompt.util.Startup;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * A loaded frozen model with its tokenizer: what every command works on. Closing it frees the
 * weights (they live in their own NDManager).
 */
public final class LoadedModel implements AutoCloseable {
    private final Path folder;
    private final String name;
    private final LanguageModel lm;
    private final TextTokenizer tokenizer;
    private final NDManager manager;
    private String fingerprint;
    private DataType dtype = DataType.FLOAT32;
    private volatile java.util.Optional<io.softprompt.model.ChatTemplate> chat;

    private LoadedModel(Path folder, String name, LanguageModel lm, TextTokenizer tokenizer, NDManager manager) {
        this.folder = folder;
        this.name = name;
        this.lm = lm;
        this.tokenizer = tokenizer;
        this.manager = manager;
    }

    /**
     * Loads config.json, the weights and tokenizer.json from a Hugging Face model folder, on the default device.
     *
     * @param folder the model folder
     * @param name how the user named the model (recorded in the prompts trained on it)
     * @return the model; close it when done
     */
    public static LoadedModel load(Path folder, String name) {
        return load(folder, name, Placement.AUTO, Placement.AUTO);
    }

    /**
     * As {@link #load(Path, String)}, on {@code device} (cpu, gpu, gpu:N, auto) with the frozen weights
     * in {@code dtype} (float32, float16, bfloat16, auto); see {@link Placement}.
     *
     * @param folder the model folder
     * @param name how the user named the model
     * @param device cpu, gpu, gpu:N or auto
     * @param dtype float32, float16, bfloat16 or auto
     * @return the model; close it when done
     */
    public static LoadedModel load(Path folder, String name, String device, String dtype) {
        ModelFolder opened = ModelFolder.open(folder);
        // the tokenizer first: its own native library loads while PyTorch's may still be loading (Main starts that)
        TextTokenizer tok = TextTokenizer.open(opened.tokenizerFile());
        NDManager manager = null;
        try {
            Device dev = Placement.device(device); // loads the engine's native library on first use
            Startup.mark("engine");
            ModelFolder mf = opened.withDtype(Placement.dtype(dtype, dev, opened.weights()));
            ModelRegistry.Factory factory = ModelRegistry.factory(mf);
            manager = NDManager.newBaseManager(dev);
            LanguageModel lm = factory.load(mf, manager, tok);
            LoadedModel loaded = new LoadedModel(folder, name, lm, tok, manager);
            loaded.dtype = mf.dtype();
            Startup.mark("model");
            return loaded;
        } catch (RuntimeException e) {
            if (manager != null) {
                manager.close();
            }
            tok.close();
            throw e;
        }
    }

    /**
     * The folder it was loaded from.
     *
     * @return the model folder
     */
    public Path folder() {
        return folder;
    }

    /**
     * How the user named the model.
     *
     * @return the hub id or folder
     */
    public String name() {
        return name;
    }

    /**
     * The model's own chat template (read from its folder the first time it is asked for).
     *
     * @return the template, or null when the folder has none
     */
    public io.softprompt.model.ChatTemplate chatTemplate() {
        if (chat == null) {
            chat = java.util.Optional.ofNullable(io.softprompt.model.ChatTemplate.find(folder));
        }
        return chat.orElse(null);
    }

    /**
     * The frozen network.
     *
     * @return the language model (forward passes, embeddings, logits)
     */
    public LanguageModel lm() {
        return lm;
    }

    /**
     * The model's tokenizer.
     *
     * @return the tokenizer from tokenizer.json
     */
    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    /**
     * The manager that owns the weights.
     *
     * @return the model's NDManager
     */
    public NDManager manager() {
        return manager;
    }

    /**
     * The frozen weights' precision (embedding tables are float32 whatever it is).
     *
     * @return float32, float16 or bfloat16
     */
    public DataType dtype() {
        return dtype;
    }

    /**
     * Where the weights live: every array of a forward and backward pass is made there.
     *
     * @return the device
     */
    public Device device() {
        return manager.getDevice();
    }

    /**
     * "sha256:" + the first 16 hex digits of SHA-256 over the input embedding matrix: the ASCII
     * string "V,D" followed by its float32 little-endian bytes, row-major. Identifies the base model
     * a prompt was trained on, whatever the file layout or dtype it was stored in.
     *
     * @return the fingerprint
     */
    public synchronized String fingerprint() {
        if (fingerprint == null) {
            fingerprint = fingerprint(lm.embeddings());
        }
        return fingerprint;
    }

    /**
     * The fingerprint of an embedding matrix (see {@link #fingerprint()}).
     *
     * @param embeddings the input embedding matrix [V, D]
     * @return "sha256:" and 16 hex digits
     */
    public static String fingerprint(NDArray embeddings) {
        MessageDigest md = Hashing.sha256();
        long[] s = embeddings.getShape().getShape();
        md.update((s[0] + "," + s[1]).getBytes(StandardCharsets.US_ASCII));
        ByteBuffer bytes = embeddings.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[(int) s[1]];
        ByteBuffer le = ByteBuffer.allocate(row.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        var fb = bytes.asFloatBuffer();
        for (long r = 0; r < s[0]; r++) {
            fb.get(row);
            le.clear();
            le.asFloatBuffer().put(row);
            md.update(le.array());
        }
        return "sha256:" + HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }

    @Override
    public void close() {
        manager.close();
        tokenizer.close();
    }
}
