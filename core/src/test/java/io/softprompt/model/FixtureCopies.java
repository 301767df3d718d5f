package io.softprompt.model;

import io.softprompt.safetensors.Half;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Copies of a fixture model folder in other storage layouts: F16/BF16 weights, sharded files. */
public final class FixtureCopies {
    private FixtureCopies() {}

    /** Copies every non-weight file, then writes the weights as dtype (F32, F16, BF16) in `shards` files. */
    public static Path copy(Path src, Path dst, String dtype, int shards) throws IOException {
        Files.createDirectories(dst);
        try (var s = Files.list(src)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.endsWith(".safetensors") && !n.equals("golden.json")) {
                    Files.copy(p, dst.resolve(n));
                }
            }
        }
        SafetensorsFile in = SafetensorsFile.open(src.resolve("model.safetensors"));
        List<String> names = new ArrayList<>(in.names());
        List<Map<String, SafetensorsWriter.Tensor>> parts = new ArrayList<>();
        for (int i = 0; i < shards; i++) {
            parts.add(new LinkedHashMap<>());
        }
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            parts.get(i * shards / names.size()).put(name, convert(in.readFloats(name), in.info(name).shape(), dtype));
        }
        if (shards == 1) {
            SafetensorsWriter.write(dst.resolve("model.safetensors"), parts.get(0), Map.of("format", "pt"));
            return dst;
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int i = 0; i < shards; i++) {
            String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards);
            SafetensorsWriter.write(dst.resolve(file), parts.get(i), Map.of("format", "pt"));
            for (String n : parts.get(i).keySet()) {
                weightMap.put(n, file);
            }
        }
        Files.writeString(dst.resolve("model.safetensors.index.json"),
                Json.write(Map.of("metadata", Map.of(), "weight_map", weightMap)));
        return dst;
    }

    static SafetensorsWriter.Tensor convert(float[] v, long[] shape, String dtype) {
        switch (dtype) {
            case "F32":
                return SafetensorsWriter.Tensor.f32(v, shape);
            case "F16":
            case "BF16": {
                ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (float x : v) {
                    b.putShort(dtype.equals("F16") ? Half.floatToFp16(x) : Half.floatToBf16(x));
                }
                return new SafetensorsWriter.Tensor(dtype, shape, b.array());
            }
            default:
                throw new IllegalArgumentException(dtype);
        }
    }

    /** What a value becomes after a round trip through dtype. */
    public static float rounded(float x, String dtype) {
        return switch (dtype) {
            case "F16" -> Half.fp16ToFloat(Half.floatToFp16(x));
            case "BF16" -> Half.bf16ToFloat(Half.floatToBf16(x));
            default -> x;
        };
    }
}
