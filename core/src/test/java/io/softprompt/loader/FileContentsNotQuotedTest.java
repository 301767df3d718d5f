package io.softprompt.loader;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 34: a model folder's files are never quoted in an error. A config.json or
 * tokenizer_config.json that was not JSON had its first token printed ("Unrecognized token 'root'"),
 * so a snapshot linked to /etc/passwd printed "root" and one linked to a token file printed the token;
 * the tokenizers library's messages quote what they read too ("unknown variant `...`"). Each file
 * here holds a marker that must appear in no message, as the file itself and as a link to it.
 */
class FileContentsNotQuotedTest {
    static final String MARK = "hf_SECRETxyzzy";

    static Stream<Arguments> cases() {
        List<String> bodies = List.of(MARK + ":x:0:0:root:/root:/bin/bash\n", "{\"a\": \"" + MARK + "\", oops}",
                MARK, "{\"model\": {\"type\": \"" + MARK + "\"}}", "[\"" + MARK + "\"", "\"" + MARK + "\"", "{\"" + MARK + "\" 1}",
                "{\"model_type\": \"gpt2\", \"n_embd\": \"" + MARK + "\"}");
        return Stream.of("config.json", "tokenizer_config.json", "tokenizer.json").flatMap(file -> bodies.stream()
                .flatMap(body -> Stream.of(Arguments.of(file, body, false), Arguments.of(file, body, true))));
    }

    private static boolean isJson(String body) {
        try {
            io.softprompt.util.Json.MAPPER.readTree(body);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void aModelFilesContentIsNeverInTheMessage(String file, String body, boolean linked, @TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("model");
        Files.createDirectories(model);
        try (var s = Files.list(Fixtures.of("gpt2"))) {
            for (Path p : s.toList()) {
                Files.copy(p, model.resolve(p.getFileName()));
            }
        }
        Path secret = tmp.resolve("secret-file");
        Files.writeString(secret, body);
        Files.delete(model.resolve(file));
        if (linked) {
            Files.createSymbolicLink(model.resolve(file), secret);
        } else {
            Files.copy(secret, model.resolve(file));
        }
        if (file.equals("tokenizer_config.json") && isJson(body)) {
            LoadedModel.load(model, "m").close(); // read leniently: keys it lacks take their defaults
            return;
        }
        UserException e = assertThrows(UserException.class, () -> LoadedModel.load(model, "m").close());
        System.out.println("CONTENTS " + file + (linked ? " (link)" : "") + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(file), e.getMessage());
        assertFalse(e.getMessage().contains("SECRET") || e.getMessage().contains("xyzzy") || e.getMessage().contains("root:"),
                e.getMessage());
    }
}
