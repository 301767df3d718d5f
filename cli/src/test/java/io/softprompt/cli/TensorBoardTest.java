package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.CodedInputStream;
import io.softprompt.Fixtures;
import io.softprompt.train.EventFile;
import io.softprompt.train.RunDir;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --report-to tensorboard: event files whose records (CRC checked) and protobuf messages, read back
 * with protobuf-java, hold exactly the figures of metrics.jsonl, step by step, and the config as text.
 */
class TensorBoardTest {
    @TempDir
    Path tmp;

    /** A scalar or text read back: step, tag, value (NaN for text), text (null for a scalar). */
    record Point(long step, String tag, double value, String text) {}

    /** Every event of a file: TFRecord framing with both masked CRCs checked, then the Event message. */
    static List<Point> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        List<Point> out = new ArrayList<>();
        boolean version = false;
        while (b.remaining() > 0) {
            byte[] len = new byte[8];
            b.get(len);
            assertEquals(EventFile.maskedCrc(len), b.getInt(), "length CRC");
            byte[] data = new byte[(int) ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong()];
            b.get(data);
            assertEquals(EventFile.maskedCrc(data), b.getInt(), "data CRC");
            CodedInputStream e = CodedInputStream.newInstance(data);
            long step = 0;
            byte[] summary = null;
            for (int tag; (tag = e.readTag()) != 0; ) {
                switch (tag >>> 3) {
                    case 1 -> e.readDouble();
                    case 2 -> step = e.readInt64();
                    case 3 -> version = e.readString().equals("brain.Event:2");
                    case 5 -> summary = e.readByteArray();
                    default -> e.skipField(tag);
                }
            }
            if (summary == null) {
                continue;
            }
            CodedInputStream s = CodedInputStream.newInstance(summary);
            for (int tag; (tag = s.readTag()) != 0; ) {
                CodedInputStream v = CodedInputStream.newInstance(s.readByteArray());
                String name = null;
                double value = Double.NaN;
                String text = null;
                for (int t; (t = v.readTag()) != 0; ) {
                    switch (t >>> 3) {
                        case 1 -> name = v.readString();
                        case 2 -> value = v.readFloat();
                        case 8 -> {
                            CodedInputStream tensor = CodedInputStream.newInstance(v.readByteArray());
                            for (int u; (u = tensor.readTag()) != 0; ) {
                                if (u >>> 3 == 8) {
                                    text = tensor.readBytes().toString(StandardCharsets.UTF_8);
                                } else {
                                    tensor.skipField(u);
                                }
                            }
                        }
                        default -> v.skipField(t);
                    }
                }
                out.add(new Point(step, name, value, text));
            }
        }
        assertTrue(version, "the file opens with its version event");
        return out;
    }

    /** metrics.jsonl's figures as TensorBoard holds them: "step tag" → the value as a float. */
    static Map<String, Double> expected(Path metrics) throws IOException {
        Map<String, Double> expected = new TreeMap<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode j = Json.MAPPER.readTree(line);
            long step = j.get("step").asLong();
            j.fields().forEachRemaining(e -> {
                if (e.getValue().isNumber() && !e.getKey().equals("step")) {
                    expected.put(step + " train/" + e.getKey(), (double) (float) e.getValue().asDouble());
                }
            });
            if (j.has("dev")) {
                for (String k : List.of("examples", "accuracy", "macro_f1")) {
                    if (j.get("dev").get(k).isNumber()) {
                        expected.put(step + " dev/" + k, (double) (float) j.get("dev").get(k).asDouble());
                    }
                }
            }
        }
        return expected;
    }

    /** The scalars of the one event file under dir: "step tag" → value. */
    static Map<String, Double> scalars(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().startsWith(EventFile.PREFIX)).toList();
        }
        assertEquals(1, files.size(), "one event file in " + dir);
        Map<String, Double> got = new TreeMap<>();
        for (Point p : read(files.get(0))) {
            if (p.text() == null) {
                got.put(p.step() + " " + p.tag(), p.value());
            }
        }
        return got;
    }

    @Test
    void aSweepsRunsFolderIsATensorBoardLogdirOfItsRuns() throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        Path config = tmp.resolve("sweep.json");
        Files.writeString(config, "{\"name\": \"tb\", \"base\": {\"task\": " + Json.write(task.toString()) + ", \"model\": "
                + Json.write(Fixtures.of("gpt2").toString()) + ", \"steps\": 6, \"batch_size\": 2, \"eval_every\": 3,"
                + " \"log_every\": 2, \"report_to\": \"tensorboard\"}, \"grid\": {\"tokens\": [2, 3], \"seed\": [1, 2]}}");
        Path runs = tmp.resolve("runs");
        Cli.Run r = Cli.run("sweep", "--config", config.toString(), "--out", runs.toString(), "--pack", "4");
        assertEquals(0, r.code(), r.err());
        int checked = 0;
        try (Stream<Path> s = Files.list(runs)) {
            for (Path run : s.filter(p -> Files.isRegularFile(p.resolve(RunDir.METRICS))).sorted().toList()) {
                assertEquals(expected(run.resolve(RunDir.METRICS)), scalars(run.resolve("tb")), run.toString());
                checked++;
            }
        }
        assertEquals(4, checked, "every run of the sweep, each in its own folder");
    }

    @Test
    void eventFilesHoldExactlyTheFiguresOfMetricsJsonl() throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        Path out = tmp.resolve("tb.sp");
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--tokens", "2",
                "--steps", "12", "--batch-size", "2", "--eval-every", "6", "--log-every", "3", "--report-to", "tensorboard",
                "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        Path run = tmp.resolve("tb.run");
        Map<String, Double> got = scalars(run.resolve("tb"));
        Map<String, Double> expected = expected(run.resolve(RunDir.METRICS));
        assertTrue(expected.size() >= 20, expected.toString());
        assertEquals(expected, got, "every logged figure, at its step, as TensorBoard's float32 holds it");
        assertTrue(got.keySet().containsAll(Arrays.asList("12 train/loss", "6 dev/accuracy", "12 train/rss_mb")),
                got.keySet().toString());
        // issue 35: the step-0 evaluation (the baseline) was printed but neither in metrics.jsonl nor in TensorBoard
        assertTrue(got.containsKey("0 dev/accuracy") && got.containsKey("0 dev/macro_f1"), got.keySet().toString());
        assertTrue(Files.readAllLines(run.resolve(RunDir.METRICS)).get(0).startsWith("{\"step\":0,"), "the first line is step 0");
        Path file;
        try (Stream<Path> s = Files.list(run.resolve("tb"))) {
            file = s.filter(p -> p.getFileName().toString().startsWith(EventFile.PREFIX)).findFirst().orElseThrow();
        }
        Point config = read(file).stream().filter(p -> "config".equals(p.tag())).findFirst().orElseThrow();
        assertEquals(12, Json.MAPPER.readTree(config.text()).get("steps").asInt(), "the config as text");
    }
}
