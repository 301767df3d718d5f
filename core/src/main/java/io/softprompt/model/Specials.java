package io.softprompt.model;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Special token ids and how an input is framed: an optional leading BOS (decoder LMs), [CLS] ... [SEP]
 * around the text with a mask token for the answer (masked LMs), a trailing EOS (T5). -1 = none.
 *
 * @param prefix ids placed before the text (BOS or CLS); empty for none
 * @param suffix ids placed after the text (SEP or EOS); empty for none
 * @param mask the mask token's id and text (masked LMs), else -1 / null
 * @param eos end of sequence (generation stops there; T5 targets end with it)
 * @param pad id used for padding (masked out anyway)
 * @param decoderStart first decoder input (T5), else -1
 */
public record Specials(long[] prefix, long[] suffix, long mask, String maskText, long eos, long pad, long decoderStart) {

    public static Specials decoder(long[] prefix, long eos, long pad) {
        return new Specials(prefix, new long[0], -1, null, eos, pad, -1);
    }

    /** A token's id when the tokenizer maps the text to exactly one id, else -1. */
    public static long id(TextTokenizer tok, String token) {
        if (token == null) {
            return -1;
        }
        long[] ids = tok.encode(token);
        return ids.length == 1 ? ids[0] : -1;
    }

    /** tokenizer_config.json as a tree (empty object when absent). */
    public static JsonNode tokenizerConfig(Path modelDir) {
        Path p = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(p)) {
            return Json.MAPPER.createObjectNode();
        }
        return Json.readTree(p);
    }

    /** A named special token's text from tokenizer_config.json (string or {"content": ...}), or the fallback. */
    public static String tokenText(JsonNode tokenizerConfig, String key, String fallback) {
        JsonNode n = tokenizerConfig.get(key);
        if (n == null || n.isNull()) {
            return fallback;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        JsonNode c = n.get("content");
        return c != null && c.isTextual() ? c.asText() : fallback;
    }

    /**
     * The ids a decoder LM puts before the text: tokenizer_config.json's add_bos_token when it says so;
     * otherwise what the tokenizer's own post-processor adds in front; otherwise BOS when
     * {@code defaultBos} (Llama's convention) and config.json names one.
     */
    public static long[] decoderPrefix(TextTokenizer tok, JsonNode tokCfg, JsonNode config, boolean defaultBos) {
        long bos = -1;
        JsonNode b = config.get("bos_token_id");
        if (b != null && b.canConvertToLong()) {
            bos = b.asLong();
        }
        long fromText = id(tok, tokenText(tokCfg, "bos_token", null));
        if (fromText >= 0) {
            bos = fromText;
        }
        JsonNode add = tokCfg.get("add_bos_token");
        if (add != null && add.isBoolean()) {
            return add.asBoolean() && bos >= 0 ? new long[] {bos} : new long[0];
        }
        if (tok.hasPostProcessor()) {
            long[] plain = tok.encode("a");
            long[] framed = tok.encodeWithSpecials("a");
            int lead = indexOf(framed, plain);
            return lead > 0 ? Arrays.copyOf(framed, lead) : new long[0];
        }
        return defaultBos && bos >= 0 ? new long[] {bos} : new long[0];
    }

    private static int indexOf(long[] hay, long[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
