package io.softprompt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.TestPrompts;
import io.softprompt.api.SoftPrompt;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.scoring.Decoding;
import io.softprompt.util.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * serve generates for text-to-text prompts: concurrent requests of a generating task and a classifying
 * one, greedy and sampled with seeds, answered exactly as the library generates each alone.
 */
class ServeGenerationTest {
    @TempDir
    static Path tmp;
    static LoadedModel model;
    static PredictServer server;
    static Path prompts;
    static final HttpClient CLIENT = HttpClient.newHttpClient();
    static final String[] TEXTS = {"the movie was great and fine", "a dull boring plot", "fine", "it was", "great acting"};

    @BeforeAll
    static void start() throws Exception {
        prompts = Files.createDirectories(tmp.resolve("prompts"));
        writeTasks(tmp);
        Path gpt2 = Fixtures.of("gpt2");
        TestPrompts.initial(gpt2, tmp.resolve("echo.json"), 3, "random", prompts.resolve("echo.sp"));
        TestPrompts.initial(gpt2, tmp.resolve("mood.json"), 2, "random", prompts.resolve("mood.sp"));
        model = LoadedModel.load(gpt2, gpt2.toString());
        server = new PredictServer(model, prompts, ServeSettings.builder().port(0).maxBatch(8).windowMillis(20)
                .maxNewTokens(12).build());
    }

    /** Two tasks in {@code dir}: echo (text-to-text, echo.json) and mood (classification, mood.json), each with a data file. */
    static void writeTasks(Path dir) throws java.io.IOException {
        Files.writeString(dir.resolve("echo.json"), """
                {"name": "echo", "type": "text-to-text", "template": "{input} it was", "train": "echo.jsonl"}
                """);
        Files.writeString(dir.resolve("echo.jsonl"), "{\"input\": \"a fine film\", \"target\": \"good\"}\n");
        Files.writeString(dir.resolve("mood.json"), """
                {"name": "mood", "template": "{text} it was", "text_column": "text", "label_column": "y",
                 "verbalizer": {"neg": " bad", "pos": " good"}, "train": "mood.tsv"}
                """);
        Files.writeString(dir.resolve("mood.tsv"), "text\ty\na dull plot\tneg\n");
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
    }

    static HttpResponse<String> post(String body) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/v1/predict"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** What the library generates for one text alone (batch of one, greedy or seeded). */
    static String alone(String text, Decoding d) {
        try (SoftPrompt sp = SoftPrompt.of(LoadedModel.load(Fixtures.of("gpt2"), "x"))) {
            Prompt p = PromptFile.read(prompts.resolve("echo.sp"));
            return sp.generate(p, text, d).text();
        }
    }

    @Test
    void concurrentRequestsGenerateAsTheLibraryDoesAlone() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<HttpResponse<String>>> gen = new ArrayList<>();
            List<Future<HttpResponse<String>>> cls = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < TEXTS.length; i++) {
                    String text = TEXTS[i];
                    String sampled = i % 2 == 0 ? "" : ", \"do_sample\": true, \"temperature\": 1.3, \"top_k\": 20, \"seed\": " + i;
                    gen.add(pool.submit(() -> post("{\"task\": \"echo\", \"text\": \"" + text + "\", \"max_new_tokens\": 8"
                            + sampled + "}")));
                    cls.add(pool.submit(() -> post("{\"task\": \"mood\", \"text\": \"" + text + "\"}")));
                }
            }
            for (int k = 0; k < gen.size(); k++) {
                int i = k % TEXTS.length;
                HttpResponse<String> r = gen.get(k).get();
                assertEquals(200, r.statusCode(), r.body());
                JsonNode j = Json.MAPPER.readTree(r.body());
                Decoding d = i % 2 == 0 ? Decoding.greedy(8) : new Decoding(8, true, 1.3, 20, 1.0, i, List.of());
                assertEquals(alone(TEXTS[i], d), j.get("generated").asText(), "item " + k + ": " + r.body());
                assertTrue(j.get("tokens").asInt() <= 8, r.body());
                assertTrue(List.of("eos", "length", "stop").contains(j.get("finish_reason").asText()), r.body());
                assertEquals(i % 2 == 1, j.has("seed"), "a sampled answer says its seed: " + r.body());
                assertFalse(j.has("probabilities"), r.body());
            }
            for (Future<HttpResponse<String>> f : cls) {
                HttpResponse<String> r = f.get();
                assertEquals(200, r.statusCode(), r.body());
                JsonNode j = Json.MAPPER.readTree(r.body());
                assertTrue(j.has("label") && j.has("word") && j.has("probabilities") && !j.has("generated"), r.body());
            }
        } finally {
            pool.shutdownNow();
        }
        JsonNode tasks = Json.MAPPER.readTree(CLIENT.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/v1/tasks")).GET().build(), HttpResponse.BodyHandlers.ofString()).body());
        assertTrue(tasks.toString().contains("\"generates\":true"), tasks.toString());
        assertTrue(tasks.toString().contains("\"depth\":\"input\""), "/v1/tasks says each prompt's depth: " + tasks);
    }

    @Test
    void aStopStringAndABatchOfItemsOfBothKinds() throws Exception {
        String free = alone("a dull boring plot", Decoding.greedy(12));
        assertTrue(free.length() > 3, free);
        String stop = free.substring(free.length() / 2, free.length() / 2 + 1);
        HttpResponse<String> r = post("{\"items\": [{\"task\": \"echo\", \"text\": \"a dull boring plot\", \"stop\": "
                + Json.write(stop) + ", \"id\": 1}, {\"task\": \"mood\", \"text\": \"fine\", \"id\": 2}]}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode results = Json.MAPPER.readTree(r.body()).get("results");
        assertEquals(free.substring(0, free.indexOf(stop)), results.get(0).get("generated").asText());
        assertEquals("stop", results.get(0).get("finish_reason").asText());
        assertEquals(2, results.get(1).get("id").asInt());
        assertTrue(results.get(1).has("label"));
    }

    @Test
    void generationFieldsAreCheckedAndRefusedOnClassifyingTasks() throws Exception {
        for (String[] c : new String[][] {
            {"{\"task\": \"mood\", \"text\": \"x\", \"max_new_tokens\": 3}", "applies to text-to-text tasks"},
            {"{\"task\": \"echo\", \"text\": \"x\", \"max_new_tokens\": 13}", "0..12"},
            {"{\"task\": \"echo\", \"text\": \"x\", \"temperature\": 0.5}", "add \\\"do_sample\\\": true"},
            {"{\"task\": \"echo\", \"text\": \"x\", \"do_sample\": true, \"top_p\": 0}", "top_p"},
            {"{\"task\": \"echo\", \"text\": \"x\", \"do_sample\": \"yes\"}", "true or false"},
            {"{\"task\": \"echo\", \"text\": \"x\", \"stop\": [1]}", "array of strings"}}) {
            HttpResponse<String> r = post(c[0]);
            assertEquals(400, r.statusCode(), c[0] + " → " + r.body());
            assertTrue(r.body().contains(c[1]), c[0] + " → " + r.body());
        }
    }

    /**
     * Issue 34: a request can fail only itself. Hostile generating items — an input long enough to fill
     * every position, the smallest temperature, the smallest top_p, a stop string no text holds — share
     * batch windows with normal ones from other clients, all sent at once. Before the fix the long
     * input ran its batch past the model's 128 positions and every generating item in that batch got
     * 500 (temperature 1e-308 likewise, fixed earlier). Now every answer is 200, each normal one equal to
     * the library's for it alone, and the long input generates what positions remain, ending "length".
     */
    @Test
    void hostileItemsNeverFailAnotherClientsItems() throws Exception {
        String longText = "great ".repeat(400);
        String[] hostile = {
            "{\"task\": \"echo\", \"text\": \"" + longText + "\", \"max_new_tokens\": 12}",
            "{\"task\": \"echo\", \"text\": \"fine\", \"do_sample\": true, \"temperature\": 1e-308, \"seed\": 3}",
            "{\"task\": \"echo\", \"text\": \"fine\", \"do_sample\": true, \"top_p\": 1e-300, \"seed\": 4}",
            "{\"task\": \"echo\", \"text\": \"" + longText + "\", \"stop\": [\"\\u0000\\uffff\"], \"max_new_tokens\": 12}",
        };
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            for (int round = 0; round < 3; round++) {
                java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
                List<Future<HttpResponse<String>>> normal = new ArrayList<>();
                List<Future<HttpResponse<String>>> bad = new ArrayList<>();
                for (String h : hostile) {
                    bad.add(pool.submit(() -> {
                        go.await();
                        return post(h);
                    }));
                }
                for (String text : TEXTS) {
                    normal.add(pool.submit(() -> {
                        go.await();
                        return post("{\"task\": \"echo\", \"text\": \"" + text + "\", \"max_new_tokens\": 8}");
                    }));
                }
                go.countDown();
                for (int i = 0; i < TEXTS.length; i++) {
                    HttpResponse<String> r = normal.get(i).get();
                    assertEquals(200, r.statusCode(), "a normal item beside hostile ones: " + r.body());
                    assertEquals(alone(TEXTS[i], Decoding.greedy(8)), Json.MAPPER.readTree(r.body()).get("generated").asText(),
                            "round " + round + ", item " + i + " answered as alone");
                }
                for (int i = 0; i < hostile.length; i++) {
                    HttpResponse<String> r = bad.get(i).get();
                    assertEquals(200, r.statusCode(), "hostile item " + i + ": " + r.body());
                }
                JsonNode longOne = Json.MAPPER.readTree(bad.get(0).get().body());
                assertEquals("length", longOne.get("finish_reason").asText(), longOne.toString());
                assertEquals(alone(longText, Decoding.greedy(12)), longOne.get("generated").asText(),
                        "the long input is cut as the library cuts it and generates what positions remain");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
