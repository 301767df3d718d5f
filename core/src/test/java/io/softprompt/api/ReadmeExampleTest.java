package io.softprompt.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.prompt.PromptFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java API example, exactly as printed there: compiled against the library with the
 * JDK's compiler and run on the gpt2 fixture. If the API changes under it, this fails.
 */
class ReadmeExampleTest {
    @TempDir
    Path tmp;

    static String example() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("softprompt.root", "..")).resolve("README.md"));
        Matcher m = Pattern.compile("<!-- api-example[^>]*-->\\s*```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "README has the api-example block");
        return m.group(1);
    }

    @Test
    void readmeExampleCompilesAndRuns() throws Exception {
        String code = example();
        assertTrue(code.lines().count() <= 25, "the example stays short: " + code.lines().count() + " lines");
        Path src = tmp.resolve("src/Example.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, code);
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream diag = new ByteArrayOutputStream();
        int rc = javac.run(null, diag, diag, "-d", classes.toString(), "-cp", System.getProperty("java.class.path"),
                src.toString());
        assertEquals(0, rc, "javac: " + diag.toString(StandardCharsets.UTF_8));

        Path out = tmp.resolve("example.sp");
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream old = System.out;
        try (URLClassLoader cl = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            Method main = cl.loadClass("Example").getMethod("main", String[].class);
            main.invoke(null, (Object) new String[] {Fixtures.of("gpt2").toString(), out.toString()});
        } finally {
            System.setOut(old);
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        List<String> lines = text.strip().lines().toList();
        assertEquals(3, lines.size(), text);
        assertTrue(lines.get(0).startsWith("best dev accuracy "), text);
        assertTrue(lines.get(1).matches("[01] \\{0=.*, 1=.*\\}"), text);
        assertEquals(20, PromptFile.read(out).tokens());
        assertTrue(Files.isRegularFile(tmp.resolve("example.run/final.json")), "the run folder beside the output");
    }

    /**
     * The example as another JVM program runs it, on its default (the embedded sentiment-lm) from an
     * empty working folder: the library creates nothing there (the model goes to the user's cache,
     * here a temporary $XDG_CACHE_HOME); only the output it was told to write appears, elsewhere.
     */
    @Test
    void theLibraryCreatesNoFolderInTheCallersWorkingFolder() throws Exception {
        Path src = tmp.resolve("src/Example.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, example());
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        String cp = System.getProperty("java.class.path");
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), "-cp", cp,
                src.toString()));
        Path work = Files.createDirectories(tmp.resolve("work"));
        Path cache = tmp.resolve("cache");
        Path out = tmp.resolve("elsewhere/example.sp");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-Dsoftprompt.offline=true", "-cp", classes + java.io.File.pathSeparator + cp,
                "Example", "sentiment-lm", out.toString()).directory(work.toFile()).redirectErrorStream(true);
        pb.environment().put("XDG_CACHE_HOME", cache.toString());
        pb.environment().remove("SOFTPROMPT_MODELS");
        Process p = pb.start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), printed);
        assertEquals(0, p.exitValue(), printed);
        try (var s = Files.list(work)) {
            assertEquals(List.of(), s.toList(), "nothing in the working folder: " + printed);
        }
        assertTrue(Files.isRegularFile(cache.resolve("softprompt/models/sentiment-lm/config.json")), "the model in the cache");
        assertEquals(20, PromptFile.read(out).tokens());
    }
}
