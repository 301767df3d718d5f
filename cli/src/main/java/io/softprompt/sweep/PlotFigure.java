package io.softprompt.sweep;

import io.softprompt.util.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Dimension;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.apache.batik.svggen.SVGGeneratorContext;
import org.apache.batik.svggen.SVGGraphics2D;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.block.RectangleConstraint;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.util.ShapeUtils;
import org.w3c.dom.Document;

/** The report plots' figures: line styles told apart without colour, one chart's frame, panels laid out and saved as PNG and SVG. */
final class PlotFigure {
    private PlotFigure() {}

    static void paint(XYLineAndShapeRenderer r, int n, boolean shapes) {
        for (int i = 0; i < n; i++) {
            Style st = style(i);
            r.setSeriesPaint(i, st.colour());
            r.setSeriesStroke(i, st.stroke());
            r.setSeriesShape(i, st.shape());
            r.setSeriesShapesVisible(i, shapes);
        }
    }

    /** How series i is drawn: a palette colour, and past the palette's length a new dash and marker. */
    record Style(Color colour, BasicStroke stroke, Shape shape) {}

    /** One line style and one marker per cycle through the palette: solid/circle, dashed/square, ... */
    private static final BasicStroke[] STROKES = {new BasicStroke(2f), dashed(2f, 8f, 4f), dashed(2f, 2f, 3f),
        dashed(2f, 10f, 3f, 2f, 3f)};

    private static final Shape[] SHAPES = {new Ellipse2D.Double(-4, -4, 8, 8), new Rectangle2D.Double(-4, -4, 8, 8),
        ShapeUtils.createUpTriangle(4.5f), ShapeUtils.createDiamond(4.5f)};

    static Style style(int i) {
        int cycle = (i / ReportPlots.PALETTE.length) % STROKES.length;
        return new Style(ReportPlots.PALETTE[i % ReportPlots.PALETTE.length], STROKES[cycle], SHAPES[cycle]);
    }

    static BasicStroke dashed(float width, float... dash) {
        return new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, dash, 0f);
    }

    static JFreeChart chart(String title, String caption, XYPlot plot, boolean legend) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        plot.setOutlinePaint(Color.GRAY);
        JFreeChart c = new JFreeChart(title, ReportPlots.TITLE, plot, legend);
        if (caption != null) {
            c.addSubtitle(new TextTitle(caption, ReportPlots.CAPTION));
        }
        c.setBackgroundPaint(Color.WHITE);
        if (legend) {
            c.getLegend().setFrame(BlockBorder.NONE);
            c.getLegend().setItemFont(ReportPlots.CAPTION);
        }
        return c;
    }

    /**
     * A figure: an optional title and caption across the top, rows of equally sized panels, and an
     * optional legend across the bottom (one for all panels, whose lines share colours).
     */
    record Figure(String title, String caption, List<List<JFreeChart>> rows, int panelWidth, int panelHeight,
            LegendTitle legend) {
        static final int HEADER = 56;
        static final int FOOTER = 48;

        int width() {
            return panelWidth * rows.stream().mapToInt(List::size).max().orElse(1);
        }

        int height() {
            return (title == null ? 0 : HEADER) + panelHeight * rows.size() + (legend == null ? 0 : FOOTER);
        }

        void draw(Graphics2D g) {
            g.setPaint(Color.WHITE);
            g.fill(new Rectangle2D.Double(0, 0, width(), height()));
            int y = 0;
            if (title != null) {
                place(g, new TextTitle(title, ReportPlots.TITLE), new Rectangle2D.Double(0, 6, width(), 24));
                place(g, new TextTitle(caption, ReportPlots.CAPTION), new Rectangle2D.Double(0, 30, width(), 22));
                y = HEADER;
            }
            for (List<JFreeChart> row : rows) {
                for (int i = 0; i < row.size(); i++) {
                    row.get(i).draw(g, new Rectangle2D.Double(i * panelWidth, y, panelWidth, panelHeight));
                }
                y += panelHeight;
            }
            if (legend != null) {
                place(g, legend, new Rectangle2D.Double(0, y + 4, width(), FOOTER - 8));
            }
        }

        /** A title laid out at its own size (a title draws nothing before it is arranged), centred in the area. */
        private static void place(Graphics2D g, org.jfree.chart.title.Title t, Rectangle2D area) {
            org.jfree.chart.ui.Size2D size = t.arrange(g, RectangleConstraint.NONE.toRangeWidth(
                    new org.jfree.data.Range(0, area.getWidth())));
            double w = Math.min(size.getWidth(), area.getWidth());
            t.draw(g, new Rectangle2D.Double(area.getX() + (area.getWidth() - w) / 2, area.getY(), w, area.getHeight()));
        }
    }

    /** A figure as PNG and as SVG with text elements. */
    static void save(Figure f, Path base) throws IOException {
        int w = f.width();
        int h = f.height();
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        f.draw(g);
        g.dispose();
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        AtomicFiles.write(base.resolveSibling(base.getFileName() + ".png"), o -> o.write(png.toByteArray()));

        Document doc;
        try {
            doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().getDOMImplementation()
                    .createDocument("http://www.w3.org/2000/svg", "svg", null);
        } catch (ParserConfigurationException e) {
            throw new IOException("no XML document builder: " + e.getMessage(), e);
        }
        SVGGraphics2D svg = new SVGGraphics2D(SVGGeneratorContext.createDefault(doc), false); // false: text as <text>
        svg.setSVGCanvasSize(new Dimension(w, h));
        f.draw(svg);
        AtomicFiles.write(base.resolveSibling(base.getFileName() + ".svg"), o -> {
            Writer out = new OutputStreamWriter(o, StandardCharsets.UTF_8);
            svg.stream(out, true);
            out.flush();
        });
    }
}
