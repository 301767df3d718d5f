package io.softprompt.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonToken;
import io.softprompt.util.Hashing;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A Hugging Face tokenizer.json through DJL's tokenizers: no special tokens, no truncation, no padding. */
public final class TextTokenizer implements AutoCloseable {
    private final HuggingFaceTokenizer tokenizer;
    private final String identity;
    private final boolean postProcessor;
    private final java.util.List<String> added;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, String identity, Scan scan) {
        this.tokenizer = tokenizer;
        this.identity = identity;
        this.postProcessor = scan.postProcessor();
        this.added = scan.added();
    }

    /**
     * Whether tokenizer.json has a top-level non-null "post_processor", and its added tokens' texts
     * (streamed, not loaded whole: the model table is never read).
     */
    static Scan scan(Path file) throws IOException {
        boolean post = false;
        boolean seenPost = false;
        boolean seenAdded = false;
        java.util.List<String> added = new java.util.ArrayList<>();
        try (var p = Json.MAPPER.getFactory().createParser(file.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new Scan(false, added);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                var t = p.nextToken();
                if (name.equals("post_processor")) {
                    post = t != JsonToken.VALUE_NULL;
                    p.skipChildren();
                    seenPost = true;
                } else if (name.equals("added_tokens") && t == JsonToken.START_ARRAY) {
                    seenAdded = true;
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        com.fasterxml.jackson.databind.JsonNode a = Json.MAPPER.readTree(p);
                        if (a.path("content").isTextual() && !a.path("content").asText().isEmpty()) {
                            added.add(a.path("content").asText());
                        }
                    }
                } else {
                    p.skipChildren();
                }
                if (seenPost && seenAdded) {
                    break; // the model's table (most of the file) is never read
                }
            }
        }
        return new Scan(post, java.util.List.copyOf(added));
    }

    /** What {@link #scan} reads of tokenizer.json: the post-processor's presence and the added tokens. */
    record Scan(boolean postProcessor, java.util.List<String> added) {}

    /**
     * The added tokens' texts: the tokenizer cuts text at each before anything else, so what precedes
     * one's end is tokenized the same whatever follows.
     *
     * @return the texts, in tokenizer.json's order
     */
    public java.util.List<String> addedTokens() {
        return added;
    }

    /** Whether the tokenizer frames text itself (BOS, CLS/SEP...) when asked to add special tokens. */
    public boolean hasPostProcessor() {
        return postProcessor;
    }

    public static TextTokenizer open(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new UserException(tokenizerJson + ": file not found (the model folder needs a tokenizer.json)");
        }
        try {
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(tokenizerJson)
                    .optAddSpecialTokens(false)
                    .optTruncation(false)
                    .optPadding(false)
                    .build();
            return new TextTokenizer(t, "sha256:" + Hashing.sha256(tokenizerJson).substring(0, 16),
                    scan(tokenizerJson));
        } catch (IOException | RuntimeException e) {
            throw new UserException(tokenizerJson + ": not a tokenizer.json the tokenizers library reads" + where(e));
        }
    }

    private static final java.util.regex.Pattern AT = java.util.regex.Pattern.compile("line [0-9]+ column [0-9]+");

    /**
     * Where the tokenizers library's parser stopped ("line 1 column 1"), or nothing: its message quotes
     * what it read ("unknown variant `...`"), and a file's bytes never go into a message.
     */
    private static String where(Exception e) {
        var m = AT.matcher(String.valueOf(e.getMessage()));
        return m.find() ? " (at " + m.group() + ")" : "";
    }

    /** Token ids of a text, without special tokens. */
    public long[] encode(String text) {
        return tokenizer.encode(bounded(text), false, false).getIds();
    }

    /** Token ids with the tokenizer's own special tokens (its post-processor), for probing conventions. */
    public long[] encodeWithSpecials(String text) {
        return tokenizer.encode(bounded(text), true, false).getIds();
    }

    /**
     * The longest text the tokenizer is given, 1 Mi characters: the native tokenizer's memory grows
     * about 175 bytes a character and a 20 MB text aborted the JVM. Readers refuse longer lines naming
     * them; this is the backstop for every other way in (the API, Spark rows).
     */
    public static final int MAX_TEXT_CHARS = 1 << 20;

    private static String bounded(String text) {
        if (text.length() > MAX_TEXT_CHARS) {
            throw new UserException("a text of " + text.length() + " characters; the most one input may hold is " + MAX_TEXT_CHARS);
        }
        return text;
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, false);
    }

    /** "sha256:" + the first 16 hex digits of tokenizer.json's SHA-256. */
    public String identity() {
        return identity;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
