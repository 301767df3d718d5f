package io.softprompt.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.infer.Member;
import io.softprompt.loader.LoadedModel;
import io.softprompt.util.UserException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The .sp reader enforces docs/FORMAT.md: every way a file can lie is refused, naming the file. */
class FormatEnforcementTest {
    @TempDir
    Path tmp;

    static final String META = "\"format\": \"softprompt\", \"format_version\": \"1.0\", \"hidden_size\": \"4\", "
            + "\"task\": \"sst2\", \"template\": \"{sentence} It was\", \"verbalizer\": \"{\\\"0\\\": \\\" a\\\", \\\"1\\\": \\\" b\\\"}\"";

    /** A file with this header (the JSON as given) and data bytes of zeros. */
    Path raw(String name, String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded);
        b.put(h);
        for (int i = h.length; i < padded; i++) {
            b.put((byte) ' ');
        }
        Path f = tmp.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    static String tensor(int rows, String offsets) {
        return "\"prompt_embeddings\": {\"dtype\": \"F32\", \"shape\": [" + rows + ", 4], \"data_offsets\": " + offsets + "}";
    }

    String refused(Path f) {
        UserException e = assertThrows(UserException.class, () -> PromptFile.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aWellFormedFileReads() throws Exception {
        Path ok = raw("ok.sp", "{" + tensor(2, "[0, 32]") + ", \"__metadata__\": {" + META + ", \"num_virtual_tokens\": \"2\"}}", 32);
        assertEquals(2, PromptFile.read(ok).tokens());
    }

    @Test
    void everyLieIsRefused() throws Exception {
        String[][] cases = {
            {"tokens-mismatch", "{" + tensor(2, "[0, 32]") + ", \"__metadata__\": {" + META + ", \"num_virtual_tokens\": \"3\"}}",
                "32", "num_virtual_tokens 3 contradicts the tensor's shape [2, 4]"},
            {"tokens-fraction", "{" + tensor(2, "[0, 32]") + ", \"__metadata__\": {" + META + ", \"num_virtual_tokens\": \"2.5\"}}",
                "32", "num_virtual_tokens is not a decimal integer"},
            {"tokens-missing", "{" + tensor(2, "[0, 32]") + ", \"__metadata__\": {" + META + "}}", "32",
                "no 'num_virtual_tokens' metadata key"},
            {"non-string", "{" + tensor(2, "[0, 32]") + ", \"__metadata__\": {" + META + ", \"num_virtual_tokens\": 2}}",
                "32", "metadata value of 'num_virtual_tokens' is not a string"},
            {"metadata-list", "{" + tensor(2, "[0, 32]") + ", \"__metadata__\": [\"format\", \"softprompt\"]}", "32",
                "__metadata__ is not a JSON object"},
            {"no-format", "{" + tensor(2, "[0, 32]") + ", \"__metadata__\": {\"num_virtual_tokens\": \"2\", \"hidden_size\": \"4\"}}",
                "32", "no 'format' metadata key"},
            {"duplicate", "{" + tensor(2, "[0, 32]") + ", " + tensor(2, "[0, 32]") + ", \"__metadata__\": {" + META
                + ", \"num_virtual_tokens\": \"2\"}}", "32", "a key appears twice in the header"},
            {"overlap", "{" + tensor(2, "[0, 32]") + ", \"other\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 32]},"
                + " \"__metadata__\": {" + META + ", \"num_virtual_tokens\": \"2\"}}", "32", "overlaps another tensor's bytes"},
            {"fraction-offset", "{" + tensor(2, "[0.0, 32.5]") + ", \"__metadata__\": {" + META + ", \"num_virtual_tokens\": \"2\"}}",
                "33", "not whole numbers"},
            {"hole", "{" + tensor(2, "[8, 40]") + ", \"__metadata__\": {" + META + ", \"num_virtual_tokens\": \"2\"}}", "40",
                "belong to no tensor"},
        };
        for (String[] c : cases) {
            Path f = raw(c[0] + ".sp", c[1], Integer.parseInt(c[2]));
            String msg = refused(f);
            System.out.printf("REFUSED %-16s %s%n", c[0], msg.substring(f.toString().length()));
            assertTrue(msg.contains(c[3]), c[0] + ": expected '" + c[3] + "' in " + msg);
        }
    }

    @Test
    void valuesThatMakeTheOutputNonFiniteAreRefusedOnTheModel() throws Exception {
        try (LoadedModel model = LoadedModel.load(Fixtures.of("gpt2"), "gpt2-tiny")) {
            int d = model.lm().hiddenSize();
            Map<String, String> meta = new HashMap<>();
            meta.put(PromptFile.TASK, "mood");
            meta.put(PromptFile.TEMPLATE, "{sentence} it was");
            meta.put(PromptFile.VERBALIZER, "{\"neg\": \" bad\", \"pos\": \" good\"}");
            float[] huge = new float[2 * d];
            Arrays.fill(huge, 3e38f); // finite in the file, but its square overflows inside the model
            Path f = tmp.resolve("huge.sp");
            PromptFile.write(f, new Prompt(huge, 2, d, meta));
            Prompt read = PromptFile.read(f); // the file itself is well-formed
            Member.NonFinite e = assertThrows(Member.NonFinite.class, () -> Member.of(model, null, f.toString(), read, null, false));
            assertTrue(e.getMessage().contains("make the model's output non-finite"), e.getMessage());
            float[] fine = new float[2 * d];
            Arrays.fill(fine, 0.1f);
            Member.of(model, null, "fine", new Prompt(fine, 2, d, meta), null, false);
        }
    }
}
