package io.softprompt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.TestPrompts;
import io.softprompt.api.SoftPrompt;
import io.softprompt.infer.MultiTask;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve on loopback: answers equal infer's, mixed tasks share batches, bad requests, hot reload. */
class PredictServerTest {
    @TempDir
    static Path tmp;
    static Path prompts;
    static LoadedModel model;
    static PredictServer server;
    static HttpClient client = HttpClient.newHttpClient();
    static final String[] TEXTS = {"a dull boring plot", "the movie was great and fine", "fine", "great acting",
        "boring and dull", "a fine and great film", "the plot was dull"};

    static Path task(String name, String template, String words) throws Exception {
        Path t = tmp.resolve(name + ".json");
        Files.writeString(t, "{\"name\": \"" + name + "\", \"template\": \"" + template + "\", \"text_column\": \"text\","
                + " \"label_column\": \"y\", \"verbalizer\": " + words + ", \"train\": \"" + name + ".tsv\", \"dev\": \""
                + name + ".tsv\"}");
        String label = Json.MAPPER.readTree(words).fieldNames().next();
        Files.writeString(tmp.resolve(name + ".tsv"), "text\ty\na dull boring plot\t" + label + "\n");
        return t;
    }

    @BeforeAll
    static void start() throws Exception {
        prompts = Files.createDirectories(tmp.resolve("prompts"));
        String m = Fixtures.of("gpt2").toString();
        Object[][] specs = {{"mood", "{text} it was", "{\"neg\": \" bad\", \"pos\": \" good\"}", "3"},
            {"topic", "Topic of: {text} is", "{\"a\": \" movie\", \"b\": \" plot\", \"c\": \" film\"}", "6"},
            {"grade", "{text} grade", "{\"lo\": \" the\", \"hi\": \" a\"}", "2"}};
        for (Object[] s : specs) {
            TestPrompts.initial(Fixtures.of("gpt2"), task((String) s[0], (String) s[1], (String) s[2]),
                    Integer.parseInt((String) s[3]), "random", prompts.resolve(s[0] + ".sp"));
        }
        model = LoadedModel.load(Fixtures.of("gpt2"), m);
        // topic: a deep prompt in the top layer only; grade: a late prompt entering the top layer (issue 33)
        atTop(prompts.resolve("topic.sp"), "partial");
        atTop(prompts.resolve("grade.sp"), "late");
        server = new PredictServer(model, prompts, new ServeSettings(0, "127.0.0.1", 8, 5, 64, 16, 200, 1 << 16, 0,
                true, 30000, 64, 2000, 48, null, 16));
    }

    /** Rewrites an input prompt file as one of {@code depth} in the model's top layer, random values of its width. */
    static void atTop(Path sp, String depth) throws Exception {
        Prompt p = PromptFile.read(sp);
        Map<String, String> meta = new LinkedHashMap<>(p.metadata());
        meta.put(PromptFile.DEPTH, depth);
        meta.put(PromptFile.LAYERS, "1");
        int w = PromptSite.of(depth, 1).width(model.lm());
        float[] v = new float[p.tokens() * w];
        java.util.Random r = new java.util.Random(depth.length());
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.5);
        }
        PromptFile.write(sp, new Prompt(v, p.tokens(), w, meta));
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /**
     * The library's answers for every (task, text), rows of all tasks in shared batches as infer --input
     * answers them: the reference the server must match.
     */
    static Map<String, JsonNode> inferAnswers() throws Exception {
        Map<String, Prompt> byTask = new LinkedHashMap<>();
        List<Map.Entry<String, String>> rows = new ArrayList<>();
        for (String t : List.of("mood", "topic", "grade")) {
            byTask.put(t, PromptFile.read(prompts.resolve(t + ".sp")));
            for (String x : TEXTS) {
                rows.add(Map.entry(t, x));
            }
        }
        List<MultiTask.Answer> answers;
        try (SoftPrompt sp = SoftPrompt.of(LoadedModel.load(Fixtures.of("gpt2"), Fixtures.of("gpt2").toString()))) {
            answers = sp.predict(byTask, rows);
        }
        assertEquals(3 * TEXTS.length, answers.size());
        Map<String, JsonNode> out = new HashMap<>();
        for (int k = 0; k < rows.size(); k++) {
            MultiTask.Answer a = answers.get(k);
            assertEquals(rows.get(k).getKey(), a.task(), "answers in input order");
            out.put(rows.get(k).getKey() + "|" + rows.get(k).getValue(),
                    Json.MAPPER.valueToTree(Map.of("label", a.label(), "probabilities", a.probabilities())));
        }
        return out;
    }

    static void assertSame(JsonNode expected, JsonNode got) {
        assertEquals(expected.get("label"), got.get("label"), got.toString());
        expected.get("probabilities").fields().forEachRemaining(e ->
                assertEquals(e.getValue().asDouble(), got.get("probabilities").get(e.getKey()).asDouble(), 1e-5, got.toString()));
    }

    @Test
    void answersEqualInferUnderConcurrentMixedLoad() throws Exception {
        Map<String, JsonNode> expected = inferAnswers();
        JsonNode health = Json.MAPPER.readTree(get("/health").body());
        assertEquals("ok", health.get("status").asText());
        assertEquals(3, health.get("tasks").asInt());
        JsonNode tasks = Json.MAPPER.readTree(get("/v1/tasks").body());
        assertEquals(3, tasks.get("tasks").size());
        assertEquals("[input, partial/1, late/1]", java.util.stream.StreamSupport.stream(tasks.get("tasks").spliterator(), false)
                .sorted(java.util.Comparator.comparing(t -> List.of("mood", "topic", "grade").indexOf(t.get("task").asText())))
                .map(t -> t.get("depth").asText() + (t.has("prompt_layers") ? "/" + t.get("prompt_layers").asInt() : "")).toList().toString(), tasks.toString());

        HttpResponse<String> one = post("/v1/predict", "{\"task\": \"mood\", \"text\": \"fine\", \"id\": 7}");
        assertEquals(200, one.statusCode(), one.body());
        JsonNode oj = Json.MAPPER.readTree(one.body());
        assertEquals(7, oj.get("id").asInt());
        assertSame(expected.get("mood|fine"), oj);
        assertEquals(oj.get("label").asText().equals("neg") ? "bad" : "good", oj.get("word").asText(),
                "the label's word, as infer --json gives it");

        // a bounded load: 6 client threads, 60 requests of 1-3 mixed-task items each
        ExecutorService pool = Executors.newFixedThreadPool(6);
        List<Future<Integer>> done = new ArrayList<>();
        String[] names = {"mood", "topic", "grade"};
        for (int r = 0; r < 60; r++) {
            int req = r;
            done.add(pool.submit(() -> {
                List<Map<String, Object>> items = new ArrayList<>();
                for (int i = 0; i <= req % 3; i++) {
                    String t = names[(req + i) % 3];
                    String x = TEXTS[(req * 7 + i) % TEXTS.length];
                    items.add(Map.of("task", t, "text", x, "id", t + "|" + x));
                }
                HttpResponse<String> resp = post("/v1/predict", Json.write(Map.of("items", items)));
                assertEquals(200, resp.statusCode(), resp.body());
                JsonNode res = Json.MAPPER.readTree(resp.body()).get("results");
                assertEquals(items.size(), res.size());
                for (JsonNode j : res) {
                    assertSame(expected.get(j.get("id").asText()), j);
                }
                return items.size();
            }));
        }
        int total = 0;
        for (Future<Integer> f : done) {
            total += f.get();
        }
        pool.shutdown();
        JsonNode metrics = Json.MAPPER.readTree(get("/metrics").body());
        assertEquals(0, metrics.get("errors_5xx").asInt());
        assertTrue(metrics.get("items").asInt() >= total);
        assertTrue(metrics.get("latency_ms").get("p99").asDouble() > 0);
        assertTrue(metrics.get("batches").get("count").asInt() > 0);
    }

    @Test
    void moreItemsThanABatchAreLaidIntoPassesAndAllAnsweredAsInfer() throws Exception {
        // 16 items at once (the batch is 8): the batcher takes them together, lays them into passes by
        // length and answers pass by pass; every answer must still be infer's
        Map<String, JsonNode> expected = inferAnswers();
        String[] names = {"mood", "topic", "grade"};
        List<Map<String, Object>> items = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String task = names[i % 3];
            String x = TEXTS[(i * 3) % TEXTS.length];
            items.add(Map.of("task", task, "text", x, "id", task + "|" + x));
        }
        int before = Json.MAPPER.readTree(get("/metrics").body()).get("batches").get("count").asInt();
        HttpResponse<String> resp = post("/v1/predict", Json.write(Map.of("items", items)));
        assertEquals(200, resp.statusCode(), resp.body());
        JsonNode res = Json.MAPPER.readTree(resp.body()).get("results");
        assertEquals(16, res.size());
        for (int i = 0; i < 16; i++) {
            assertEquals(items.get(i).get("id"), res.get(i).get("id").asText(), "answers in the request's order");
            assertSame(expected.get(res.get(i).get("id").asText()), res.get(i));
        }
        JsonNode batches = Json.MAPPER.readTree(get("/metrics").body()).get("batches");
        assertTrue(batches.get("count").asInt() - before >= 2, "16 items in passes of at most 8");
        assertTrue(batches.get("max_size").asInt() <= 8);
    }

    @Test
    void badRequestsGetFourHundredsAndTheServerLivesOn() throws Exception {
        String longText = "x".repeat(201);
        StringBuilder many = new StringBuilder("{\"items\": [");
        for (int i = 0; i < 17; i++) {
            many.append(i == 0 ? "" : ",").append("{\"task\": \"mood\", \"text\": \"fine\"}");
        }
        many.append("]}");
        Object[][] cases = {
            {"{\"task\": \"mood\", \"text\": ", 400, "malformed JSON"},
            {"[1, 2]", 400, "expected a JSON object"},
            {"{\"task\": \"nope\", \"text\": \"fine\"}", 404, "unknown task 'nope'"},
            {"{\"text\": \"fine\"}", 400, "missing \"task\""},
            {"{\"task\": \"mood\", \"text\": \"  \"}", 400, "missing or empty \"text\""},
            {"{\"task\": \"mood\", \"text\": \"" + longText + "\"}", 413, "at most 200"},
            {many.toString(), 413, "at most 16 per request"},
            {"{\"items\": {}}", 400, "must be an array"},
            {"{\"items\": []}", 400, "is empty"},
            {"{\"items\": [{\"task\": \"mood\", \"text\": \"ok\"}, 5]}", 400, "items[1]"},
        };
        for (Object[] c : cases) {
            HttpResponse<String> r = post("/v1/predict", (String) c[0]);
            assertEquals(c[1], r.statusCode(), c[0] + " -> " + r.body());
            JsonNode j = Json.MAPPER.readTree(r.body());
            assertTrue(j.get("error").asText().contains((String) c[2]), r.body());
        }
        assertEquals(405, get("/v1/predict").statusCode());
        assertEquals(404, get("/v2/nothing").statusCode());
        assertEquals(200, get("/health").statusCode(), "still serving");
        assertEquals(200, post("/v1/predict", "{\"task\": \"mood\", \"text\": \"fine\"}").statusCode());
    }

    @Test
    void aFullQueueAnswers503WithRetryAfter() throws Exception {
        try (PredictServer small = new PredictServer(model, prompts, new ServeSettings(0, "127.0.0.1", 8, 5, 2, 16, 200,
                1 << 16, 0, true, 30000, 64, 2000, 48, null, 16))) {
            String body = "{\"items\": [{\"task\": \"mood\", \"text\": \"a\"}, {\"task\": \"mood\", \"text\": \"b\"},"
                    + " {\"task\": \"mood\", \"text\": \"c\"}]}";
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + small.port()
                    + "/v1/predict")).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, r.statusCode(), r.body());
            assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
        }
    }

    @Test
    void newAndChangedPromptsArePickedUpAndMisfitsRefused() throws Exception {
        Path extra = prompts.resolve("extra.sp");
        Files.copy(prompts.resolve("mood.sp"), extra);
        Prompt mood = PromptFile.read(prompts.resolve("mood.sp"));
        Path misfit = prompts.resolve("misfit.sp");
        Map<String, String> meta = new HashMap<>(mood.metadata());
        meta.remove(PromptFile.HIDDEN_SIZE);
        PromptFile.write(misfit, new Prompt(new float[3 * 32], 3, 32, meta));
        Path deepMisfit = prompts.resolve("deepmisfit.sp"); // another model's deep prompt: its width, not a hidden size
        Map<String, String> deepMeta = new HashMap<>(mood.metadata());
        deepMeta.put(PromptFile.DEPTH, "deep");
        PromptFile.write(deepMisfit, new Prompt(new float[3 * 100], 3, 100, deepMeta));
        JsonNode tasks = null;
        for (int i = 0; i < 50; i++) {
            tasks = Json.MAPPER.readTree(get("/v1/tasks").body());
            if (tasks.get("refused").has("misfit.sp") && tasks.get("refused").has("deepmisfit.sp")
                    && tasks.toString().contains("\"extra\"")) {
                break;
            }
            Thread.sleep(100);
        }
        assertTrue(tasks.toString().contains("\"name\":\"extra\""), tasks.toString());
        assertTrue(tasks.get("refused").get("misfit.sp").asText().contains("hidden size 32"), tasks.toString());
        assertTrue(tasks.get("refused").get("deepmisfit.sp").asText().contains("deep prompt width 100 does not match the model's "
                + PromptSite.DEEP.width(model.lm())), "issue 35: the width, compared with the model's width: " + tasks);
        Files.delete(deepMisfit);
        assertEquals(404, post("/v1/predict", "{\"task\": \"misfit\", \"text\": \"fine\"}").statusCode());
        assertEquals(200, post("/v1/predict", "{\"task\": \"extra\", \"text\": \"fine\"}").statusCode());
        Files.delete(extra);
        Files.delete(misfit);
        for (int i = 0; i < 50 && Json.MAPPER.readTree(get("/v1/tasks").body()).toString().contains("\"extra\""); i++) {
            Thread.sleep(100);
        }
        assertEquals(404, post("/v1/predict", "{\"task\": \"extra\", \"text\": \"fine\"}").statusCode(), "removed files stop being served");
    }
}
