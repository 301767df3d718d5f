package io.softprompt.prompt;

import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.safetensors.TorchArchive;
import io.softprompt.util.AtomicFiles;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a model computes on for one input: the prompt's rows followed by the model's input embeddings
 * of the framed text, [N + T, D] float32 (an input prompt; a model that scales its token embeddings
 * scales them inside its embedding, so these rows are exactly its inputs_embeds). Written for vLLM's
 * {@code prompt_embeds} (base64 of a torch.save'd tensor), as a NumPy array, or as safetensors.
 *
 * <p>Dimensions: N prompt rows, T input tokens, D hidden.
 *
 * @param values the rows, row-major [(N + T)·D]
 * @param rows N + T
 * @param dim D
 * @param promptRows N
 * @param ids the input's token ids [T]
 */
public record Embeds(float[] values, int rows, int dim, int promptRows, long[] ids) {
    /** vLLM's prompt_embeds: base64 of the tensor [N + T, D] as torch.save writes it (weights_only loads it). */
    public String vllm() {
        return Base64.getEncoder().encodeToString(TorchArchive.bytes(Map.of("", new TorchArchive.Floats(values, rows, dim))));
    }

    /** The rows as a NumPy .npy file [N + T, D] float32. */
    public AtomicFiles.Writer npy() {
        return Npy.writer(values, rows, dim);
    }

    /** The rows as a safetensors file: tensor "embeds" [N + T, D], and "input_ids" [T]. */
    public AtomicFiles.Writer safetensors() {
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("embeds", SafetensorsWriter.Tensor.f32(values, rows, dim));
        t.put("input_ids", SafetensorsWriter.Tensor.i64(ids, ids.length));
        return out -> SafetensorsWriter.write(out, t, Map.of("prompt_rows", Integer.toString(promptRows)));
    }
}
