package io.goscope.plugins.console;

import io.goscope.api.TelemetryExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.pf4j.Extension;

/**
 * The {@code console} exporter, for demos and debugging, on standard output: each finished trace as an indented tree
 * ({@link ConsoleTraceExporter}), or with {@code GOSCOPE_CONSOLE_FORMAT=lines} one compact line per span with its
 * attributes ({@link ConsoleSpanExporter}); one line per histogram point ({@link ConsoleMetricExporter}).
 * {@code GOSCOPE_CONSOLE_QUIET_PERIOD} sets how long a finished trace waits for late spans (default 1 s).
 */
@Extension
public final class ConsoleTelemetryExporter implements TelemetryExporter {
  /** The configuration name, as in {@code OTEL_TRACES_EXPORTER=console}. */
  public static final String NAME = "console";
  /** {@code GOSCOPE_CONSOLE_FORMAT}: {@code tree} (default) or {@code lines}. */
  public static final String FORMAT_PROPERTY = "goscope.console.format";
  /** {@code GOSCOPE_CONSOLE_QUIET_PERIOD}: a duration such as {@code 500ms}; the tree format only. */
  public static final String QUIET_PERIOD_PROPERTY = "goscope.console.quiet.period";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public SpanExporter createSpanExporter(ConfigProperties config) {
    String format = config.getString(FORMAT_PROPERTY, "tree").trim();
    switch (format) {
      case "tree":
        return ConsoleTraceExporter.builder(System.out)
            .quietPeriod(config.getDuration(QUIET_PERIOD_PROPERTY, TraceBuffer.DEFAULT_QUIET_PERIOD)).build();
      case "lines":
        return new ConsoleSpanExporter(System.out);
      default:
        throw new ConfigurationException(FORMAT_PROPERTY + " (GOSCOPE_CONSOLE_FORMAT) must be tree or lines, not '"
            + format + "'");
    }
  }

  @Override
  public MetricExporter createMetricExporter(ConfigProperties config) {
    return new ConsoleMetricExporter(System.out);
  }
}
