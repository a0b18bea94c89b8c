package io.goscope.api;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.pf4j.ExtensionPoint;

/**
 * Supplies a span exporter by name, the way OpenTelemetry's {@code ConfigurableSpanExporterProvider} does. The host
 * picks exporters by the names listed in {@code OTEL_TRACES_EXPORTER} (default {@code otlp}) and wraps them in its
 * own bounded batching queue; an exporter only has to export.
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
}
