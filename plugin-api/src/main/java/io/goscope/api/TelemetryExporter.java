package io.goscope.api;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.pf4j.ExtensionPoint;

/**
 * Supplies a span exporter, and optionally a metric exporter, by name, the way OpenTelemetry's
 * {@code ConfigurableSpanExporterProvider} and {@code ConfigurableMetricExporterProvider} do. The host picks span
 * exporters by the names listed in {@code OTEL_TRACES_EXPORTER} and metric exporters by those in
 * {@code OTEL_METRICS_EXPORTER} (both default {@code otlp}), and wraps them in its own batching (spans) or periodic
 * collection (metrics); an exporter only has to export.
 */
public interface TelemetryExporter extends ExtensionPoint {

  /** Name used in configuration, e.g. {@code otlp} or {@code console}. */
  String name();

  /**
   * Creates the exporter.
   *
   * @param config the agent's configuration: {@code OTEL_*} environment variables and {@code otel.*} system
   *     properties, as the SDK's autoconfigure reads them
   */
  SpanExporter createSpanExporter(ConfigProperties config);

  /**
   * Creates the metric exporter, or returns null when this exporter has no metric support (the default). The host
   * exports cumulative explicit-bucket histograms to it every {@code OTEL_METRIC_EXPORT_INTERVAL}.
   *
   * @param config as for {@link #createSpanExporter(ConfigProperties)}
   */
  @Unstable
  @Nullable
  default MetricExporter createMetricExporter(ConfigProperties config) {
    return null;
  }
}
