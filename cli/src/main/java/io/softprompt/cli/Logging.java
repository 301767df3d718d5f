package io.softprompt.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import io.softprompt.util.Redaction;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The command line's logging, set in code (found by logback through the service loader): parsing an
 * XML configuration cost a one-sentence {@code infer} about a tenth of its start-up. User-facing output
 * goes through picocli's writers; the log carries only warnings and errors on standard error (DJL is
 * chatty at INFO), and the server's INFO lines (which prompts it serves and which it refuses). Raise or
 * lower every level with {@code -Dsoftprompt.log=LEVEL}. A configuration file named by
 * {@code -Dlogback.configurationFile}, or a {@code logback-test.xml} on the class path (the tests'),
 * takes precedence: then logback's own configurators run. Every line passes {@link Redaction}.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class Logging extends ContextAwareBase implements Configurator {
    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null
                || Logging.class.getClassLoader().getResource("logback-test.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        String level = System.getProperty("softprompt.log");
        PatternLayout pattern = new PatternLayout() {
            @Override
            public String doLayout(ILoggingEvent event) {
                return Redaction.apply(super.doLayout(event)); // messages and stack traces alike
            }
        };
        pattern.setContext(context);
        pattern.setPattern("%level %logger{20} - %msg%n");
        pattern.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(pattern);
        encoder.start();
        ConsoleAppender<ILoggingEvent> err = new ConsoleAppender<>();
        err.setContext(context);
        err.setName("ERR");
        err.setTarget("System.err");
        err.setEncoder(encoder);
        err.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(err);
        root.setLevel(Level.toLevel(level, Level.WARN));
        context.getLogger("ai.djl").setLevel(Level.toLevel(level, Level.ERROR));
        context.getLogger("io.softprompt.serve").setLevel(Level.toLevel(level, Level.INFO));
        // which prompts a server serves, stops serving and refuses, as its folder changes
        context.getLogger("io.softprompt.infer.PromptRegistry").setLevel(Level.toLevel(level, Level.INFO));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
