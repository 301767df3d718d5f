package io.softprompt.sweep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.softprompt.cli.Cli;
import io.softprompt.util.Json;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report on a folder of run folders made by hand (no sweep.json): grouped by the keys that
 * vary and were chosen, never by paths or derived values; runs on other data never pooled as seeds;
 * plots that show data, span the majority baseline, dodge their error bars and keep text as text.
 */
class ReportTest {
    @TempDir
    static Path tmp;
    static Path runs;

    @BeforeAll
    static void adHocRuns() throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        Path other = tmp.resolve("other.tsv");
        Files.writeString(other, "text\ty\na dull plot\tneg\nthe great film\tpos\na fine film\tpos\n");
        runs = Files.createDirectories(tmp.resolve("runs"));
        String model = Fixtures.of("gpt2").toString();
        for (int tokens : new int[] {2, 8}) {
            for (String init : List.of("random", "vocab")) {
                for (int seed : new int[] {1, 2}) {
                    String name = "t" + tokens + "-" + init + "-s" + seed;
                    Cli.Run r = Cli.run("train", "--model", model, "--task", task.toString(), "--tokens", "" + tokens, "--init",
                            init, "--seed", "" + seed, "--steps", "10", "--eval-every", "5", "--batch-size", "2", "--lr", "0.3",
                            "-o", runs.resolve(name + ".sp").toString(), "--run-dir", runs.resolve(name).toString());
                    assertEquals(0, r.code(), r.err());
                }
            }
        }
        for (int seed : new int[] {1, 2}) { // same flags, other training data: another setting
            Cli.Run r = Cli.run("train", "--model", model, "--task", task.toString(), "--train", other.toString(), "--dev",
                    other.toString(), "--tokens", "2", "--init", "random", "--seed", "" + seed, "--steps", "10", "--batch-size",
                    "2", "-o", runs.resolve("other-s" + seed + ".sp").toString(), "--run-dir",
                    runs.resolve("other-s" + seed).toString());
            assertEquals(0, r.code(), r.err());
        }
    }

    @Test
    void adHocRunsAreGroupedByWhatVariesAndNeverPooledAcrossData() throws Exception {
        Path out = tmp.resolve("report");
        Cli.Run r = Cli.run("report", runs.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        String md = Files.readString(out.resolve("summary.md"));
        assertTrue(md.contains("2 settings (different models or data: never pooled)"), md);
        assertTrue(md.contains("| tokens | init | seeds | best dev accuracy (mean ± std) |"), "grouped by tokens and init: " + md);
        assertFalse(md.contains("| output |") || md.contains("| warmup |") || md.contains("| seed |"), md);
        assertTrue(md.contains("| 2 | random | 2 |") && md.contains("| 8 | vocab | 2 |"), "two seeds per point: " + md);
        assertTrue(md.contains("Dev majority class:"), md);
        List<String> csv = Files.readAllLines(out.resolve("runs.csv"));
        assertEquals(11, csv.size(), "header + 10 runs");
        long inSetting2 = csv.stream().filter(l -> l.startsWith("other-s")).filter(l -> l.contains(",2,true,")).count();
        assertEquals(2, inSetting2, "the runs on other data form their own setting: " + csv);

        // the plot of the first setting has its data, in the palette's colours, on white
        BufferedImage png = ImageIO.read(out.resolve("accuracy-vs-length-1.png").toFile());
        int blue = 0;
        int vermillion = 0;
        for (int y = 0; y < png.getHeight(); y++) {
            for (int x = 0; x < png.getWidth(); x++) {
                int rgb = png.getRGB(x, y) & 0xFFFFFF;
                blue += rgb == 0x0072B2 ? 1 : 0;
                vermillion += rgb == 0xD55E00 ? 1 : 0;
            }
        }
        assertTrue(blue > 50 && vermillion > 50, "both series drawn: " + blue + " / " + vermillion);
        String svg = Files.readString(out.resolve("accuracy-vs-length-1.svg"));
        assertTrue(svg.contains("<text") && svg.contains("Best dev accuracy by prompt length"), "SVG text is text");
        assertTrue(svg.contains("std over 2 seeds") && svg.contains("10 steps"), "the caption names steps and seeds");
        assertTrue(svg.contains("majority class"), "the baseline is drawn and named");
        List<String> plotted = Files.readAllLines(out.resolve("accuracy-vs-length-1.csv"));
        assertTrue(plotted.stream().anyMatch(l -> l.startsWith("init: random,2,")), plotted.toString());
        assertTrue(Files.isRegularFile(out.resolve("training-curves-1.png")));
        String curves = Files.readString(out.resolve("training-curves-1.svg"));
        assertTrue(curves.contains("Dev accuracy"));
        assertTrue(curves.contains("chance (ln 2 = 0.693)"), "the loss panel has the chance level of two classes");
        // the length axis is ticked at the grid's lengths, and only there
        List<String> texts = svgTexts(svg);
        assertTrue(texts.contains("2") && texts.contains("8"), "ticks at the lengths 2 and 8: " + texts);
        for (String between : List.of("3", "4", "5", "6", "7")) {
            assertFalse(texts.contains(between), "no tick at " + between + ": " + texts);
        }
    }

    /** The text elements of an SVG, trimmed. */
    static List<String> svgTexts(String svg) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("<text[^>]*>([^<]*)</text\\s*>").matcher(svg);
        while (m.find()) {
            out.add(m.group(1).strip());
        }
        return out;
    }

    @Test
    void aSingleRunReportSaysSo() throws Exception {
        Path one = Files.createDirectories(tmp.resolve("one"));
        Files.move(runs.resolve("t2-random-s1"), one.resolve("t2-random-s1"));
        try {
            Path out = tmp.resolve("one-report");
            Cli.Run r = Cli.run("report", one.toString(), "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            String md = Files.readString(out.resolve("summary.md"));
            assertTrue(md.startsWith("# Run report"), md);
            assertFalse(md.contains("mean over seeds"), md);
            assertTrue(md.contains("one run per line"), md);
            String curves = Files.readString(out.resolve("training-curves.svg"));
            assertFalse(curves.contains("mean over seeds"), "a single run is not a mean over seeds");
        } finally {
            Files.move(one.resolve("t2-random-s1"), runs.resolve("t2-random-s1"));
        }
    }

    /**
     * Sixteen settings (4 lengths × 4 inits, as the sentiment-lm ablation) are drawn as small multiples:
     * a column per length, a line per init in each, one legend for all, one accuracy scale.
     */
    @Test
    void manySettingsAreSmallMultiplesWithOneLegend() throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        List<SweepReport.Row> rows = new ArrayList<>();
        Map<String, List<SweepReport.Row>> groups = new LinkedHashMap<>();
        int k = 0;
        for (int tokens : new int[] {1, 5, 20, 50}) {
            for (String init : List.of("random", "vocab", "labels", "text")) {
                ObjectNode cfg = Json.MAPPER.createObjectNode().put("task", task.toString()).put("objective", "verbalizer")
                        .put("model", "m").put("steps", 100).put("tokens", tokens).put("init", init);
                Map<String, JsonNode> point = new LinkedHashMap<>();
                point.put("tokens", IntNode.valueOf(tokens));
                point.put("init", TextNode.valueOf(init));
                List<double[]> losses = new ArrayList<>();
                List<double[]> dev = new ArrayList<>();
                for (int step = 0; step <= 100; step += 10) {
                    losses.add(new double[] {step, 0.7 - 0.001 * step - 0.002 * k});
                    dev.add(new double[] {step, 0.5 + 0.001 * step + 0.001 * k});
                }
                ObjectNode outcome = Json.MAPPER.createObjectNode().put("best_dev_accuracy", 0.6).put("dev_majority_accuracy", 0.51);
                SweepReport.Row r = new SweepReport.Row("t" + tokens + "-" + init, cfg, outcome, losses, dev,
                        Set.of("tokens", "init"), point);
                rows.add(r);
                groups.put(r.id(), List.of(r));
                k++;
            }
        }
        Path base = tmp.resolve("multiples").resolve("training-curves");
        Files.createDirectories(base.getParent());
        assertTrue(ReportPlots.trainingCurves(new SweepReport.Setting("m", rows, List.of("tokens", "init"), groups), base));
        List<String> texts = svgTexts(Files.readString(base.resolveSibling("training-curves.svg")));
        for (int tokens : new int[] {1, 5, 20, 50}) {
            assertTrue(texts.contains("loss, tokens " + tokens) && texts.contains("dev accuracy, tokens " + tokens),
                    "a column per length: " + texts);
        }
        for (String init : List.of("random", "vocab", "labels", "text")) {
            assertEquals(1, texts.stream().filter(("init: " + init)::equals).count(), "one legend entry for " + init + ": " + texts);
        }
        assertTrue(texts.contains("Training curves by tokens"), texts.toString());
        BufferedImage png = ImageIO.read(base.resolveSibling("training-curves.png").toFile());
        assertTrue(png.getWidth() >= 4 * 300 && png.getHeight() > 600, png.getWidth() + "x" + png.getHeight());
    }

    @Test
    void accuracyTicksComeAtAReadableStep() {
        assertEquals(0.02, PlotAxes.niceStep(0.14), 1e-12, "0.49..0.63: every 0.02");
        assertEquals(0.005, PlotAxes.niceStep(0.03), 1e-12);
        assertEquals(0.2, PlotAxes.niceStep(1.0), 1e-12);
        assertEquals(0.025, PlotAxes.niceStep(0.19), 1e-12);
    }

    @Test
    void errorBarsAreDodgedAndTheAxisSpansTheBaseline() {
        double a = PlotAxes.dodge(20, 0, 3, true);
        double b = PlotAxes.dodge(20, 1, 3, true);
        double c = PlotAxes.dodge(20, 2, 3, true);
        assertTrue(a < b && b < c && b == 20, a + " " + b + " " + c);
        assertNotEquals(PlotAxes.dodge(5, 0, 2, false), PlotAxes.dodge(5, 1, 2, false));
        assertEquals(5, PlotAxes.dodge(5, 0, 1, false));
        double[] range = PlotAxes.yRange(0.55, 0.61, 0.509);
        assertTrue(range[0] < 0.509 && range[1] > 0.61 && range[1] <= 1.0, range[0] + ".." + range[1]);
        assertEquals(1.0, PlotAxes.yRange(0.9, 0.99, 0.5)[1], 0.0);
    }

    @Test
    void seriesBeyondThePaletteStillLookDifferent() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 16; i++) { // the sentiment-lm sweep's 4 lengths x 4 inits
            PlotFigure.Style st = PlotFigure.style(i);
            String look = st.colour().getRGB() + " " + Arrays.toString(st.stroke().getDashArray());
            assertTrue(seen.add(look), "series " + i + " drawn like an earlier one: " + look);
        }
    }
}
