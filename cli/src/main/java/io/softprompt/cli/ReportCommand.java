package io.softprompt.cli;

import io.softprompt.sweep.SweepReport;
import io.softprompt.util.Json;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** softprompt report: a CSV, a Markdown table and plots of a sweep's runs. */
@Command(exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT},
        name = "report", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Tables and plots of a sweep's runs.",
            "Summarises the runs under RUNS_DIR (a sweep's --out, or any folder of run folders): runs.csv, "
                + "summary.md (mean ± std over seeds), accuracy against prompt length per initialisation with error "
                + "bars and training curves, as PNG and SVG."})
public final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "RUNS_DIR", description = "Folder of run folders.")
    Path runs;

    @Option(names = "--out", required = true, paramLabel = "REPORT_DIR", description = "Where the report goes.")
    Path out;

    @Option(names = "--force", description = "Replace REPORT_DIR if it holds an earlier report (only the files a report "
            + "wrote; a folder holding anything else is refused).")
    boolean force;

    @Override
    public Integer call() throws Exception {
        System.setProperty("java.awt.headless", "true");
        SweepReport.Summary s = SweepReport.write(runs, out, force);
        spec.commandLine().getErr().println("wrote " + out.resolve("summary.md") + " and " + (s.files().size() - 1)
                + " more files: " + s.runs() + " runs" + (s.settings() > 1 ? " in " + s.settings() + " settings" : ""));
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("runs_dir", runs.toAbsolutePath().normalize().toString());
            j.put("out", out.toAbsolutePath().normalize().toString());
            j.put("runs", s.runs());
            j.put("settings", s.settings());
            j.put("files", s.files());
            spec.commandLine().getOut().println(Json.write(j));
        }
        return 0;
    }
}
