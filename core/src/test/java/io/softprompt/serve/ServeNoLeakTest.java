package io.softprompt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.OpenArrays;
import io.softprompt.api.SoftPrompt;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.TrainConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * serve with deep prompts leaves no native array behind over a request loop: classifying and
 * generating items, each prompt's cached prefix kept across requests and freed when its file is
 * replaced. DJL's count of open arrays after 40 more requests equals the count after the warm-up.
 */
class ServeNoLeakTest {
    static final HttpClient CLIENT = HttpClient.newHttpClient();

    static void deep(Path model, Path task, Path out, long seed) {
        try (SoftPrompt sp = SoftPrompt.of(LoadedModel.load(model, model.toString()))) {
            sp.train(TrainConfig.builder().task(task.toString()).tokens(3).init("random").seed(seed).depth("deep").steps(0)
                    .output(out.toString()).build());
        }
    }

    static void post(int port, String body) throws Exception {
        HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/predict"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
    }

    static void loop(int port, int requests) throws Exception {
        for (int i = 0; i < requests; i++) {
            post(port, "{\"items\": [{\"task\": \"mood\", \"text\": \"a dull plot number " + i + "\"}, "
                    + "{\"task\": \"echo\", \"text\": \"fine film " + i + "\", \"max_new_tokens\": 3}, "
                    + "{\"task\": \"mood\", \"text\": \"great\"}]}");
        }
    }

    @Test
    void deepPromptsServedInALoopLeaveNoArrayBehind(@TempDir Path tmp) throws Exception {
        Path prompts = Files.createDirectories(tmp.resolve("prompts"));
        ServeGenerationTest.writeTasks(tmp);
        Path gpt2 = Fixtures.of("gpt2");
        deep(gpt2, tmp.resolve("echo.json"), prompts.resolve("echo.sp"), 1);
        deep(gpt2, tmp.resolve("mood.json"), prompts.resolve("mood.sp"), 2);
        assertEquals(PromptSite.DEEP, PromptFile.read(prompts.resolve("mood.sp")).site(), "a deep prompt is served");
        try (LoadedModel model = LoadedModel.load(gpt2, gpt2.toString());
             PredictServer server = new PredictServer(model, prompts, ServeSettings.builder().port(0).maxBatch(8)
                     .windowMillis(1).maxNewTokens(4).build())) {
            loop(server.port(), 5);
            int warm = OpenArrays.count();
            loop(server.port(), 40);
            int after = OpenArrays.count();
            System.out.printf("LEAK serve deep: open arrays after 5 requests %d, after 45 %d%n", warm, after);
            assertEquals(warm, after, "arrays left behind by 40 requests");
            // a replaced prompt's cached prefix is freed: the count comes back after it is scored again
            deep(gpt2, tmp.resolve("mood.json"), tmp.resolve("mood2.sp"), 3);
            Files.move(tmp.resolve("mood2.sp"), prompts.resolve("mood.sp"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Thread.sleep(2500); // the registry looks at the folder every second
            loop(server.port(), 5);
            assertEquals(warm, OpenArrays.count(), "arrays left behind by replacing a prompt");
        }
    }
}
