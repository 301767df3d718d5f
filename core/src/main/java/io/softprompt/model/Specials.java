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
 * @param ends every id that ends generation (eos, and an instruct model's other end ids)
 */
public record Specials(long[] prefix, long[] suffix, long mask, String maskText, long eos, long pad, long decoderStart,
        long[] ends) {

    /** With eos the only end of generation. */
    public Specials(long[] prefix, long[] suffix, long mask, String maskText, long eos, long pad, long decoderStart) {
        this(prefix, suffix, mask, maskText, eos, pad, decoderStart, eos >= 0 ? new long[] {eos} : new long[0]);
    }

    public static Specials decoder(long[] prefix, long eos, long pad) {
        return new Specials(prefix, new long[0], -1, null, eos, pad, -1);
    }

    /**
     * A masked LM's framing, [CLS] text [SEP] with its mask token, named by tokenizer_config.json (else
     * the defaults given) and found in the vocabulary as single ids; else one line naming the tokenizer.
     *
     * @param folder the model folder
     * @param tok its tokenizer
     * @param defaults the cls, sep and mask texts when tokenizer_config.json names none
     * @param pad the padding id
     * @return the specials
     */
    public static Specials masked(ModelFolder folder, TextTokenizer tok, String[] defaults, long pad) {
        JsonNode tokCfg = tokenizerConfig(folder.path());
        String cls = tokenText(tokCfg, "cls_token", defaults[0]);
        String sep = tokenText(tokCfg, "sep_token", defaults[1]);
        String mask = tokenText(tokCfg, "mask_token", defaults[2]);
        long clsId = id(tok, cls);
        long sepId = id(tok, sep);
        long maskId = id(tok, mask);
        if (clsId < 0 || sepId < 0 || maskId < 0) {
            throw new UserException(folder.tokenizerFile() + ": cannot find the special tokens " + cls + ", " + sep
                    + ", " + mask + " in the vocabulary");
        }
        return new Specials(new long[] {clsId}, new long[] {sepId}, maskId, mask, sepId, pad, -1);
    }

    /** Whether generation ends at this token: eos or any other end id the checkpoint names. */
    public boolean ends(long token) {
        for (long e : ends) {
            if (e == token) {
                return true;
            }
        }
        return token == eos;
    }

    /**
     * These specials ending generation at every id config.json's and generation_config.json's
     * eos_token_id name (a number or a list: an instruct model's end-of-turn as well as its EOS).
     *
     * @param modelDir the model folder
     * @param config config.json (or a checkpoint's text_config)
     * @return the specials with those ends
     */
    public Specials withEnds(Path modelDir, JsonNode config) {
        java.util.LinkedHashSet<Long> all = new java.util.LinkedHashSet<>();
        for (long e : ends) {
            all.add(e);
        }
        addIds(config.get("eos_token_id"), all);
        Path gen = modelDir.resolve("generation_config.json");
        if (Files.isRegularFile(gen)) {
            addIds(Json.readTree(gen).get("eos_token_id"), all);
        }
        return new Specials(prefix, suffix, mask, maskText, eos, pad, decoderStart,
                all.stream().mapToLong(Long::longValue).toArray());
    }

    private static void addIds(JsonNode n, java.util.Set<Long> into) {
        if (n != null && n.canConvertToLong() && n.asLong() >= 0) {
            into.add(n.asLong());
        } else if (n != null && n.isArray()) {
            n.forEach(x -> {
                if (x.canConvertToLong() && x.asLong() >= 0) {
                    into.add(x.asLong());
                }
            });
        }
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
