package io.goscope.plugins.console;

import io.goscope.api.TelemetryExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.pf4j.Extension;

/**
 * The {@code console} exporter: one compact line per span, and per histogram point, on standard output, for demos
 * and debugging.
 */
@Extension
public final class ConsoleTelemetryExporter implements TelemetryExporter {
  /** The configuration name, as in {@code OTEL_TRACES_EXPORTER=console}. */
  public static final String NAME = "console";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public SpanExporter createSpanExporter(ConfigProperties config) {
    return new ConsoleSpanExporter(System.out);
  }

  @Override
  public MetricExporter createMetricExporter(ConfigProperties config) {
    return new ConsoleMetricExporter(System.out);
  }
}
