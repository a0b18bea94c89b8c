package io.goscope.platform.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.GoscopeException;
import io.goscope.api.TelemetryExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExporterRegistryTest {
  private final SpanExporter otlpExporter = new RecordingExporter();
  private final SpanExporter consoleExporter = new RecordingExporter();
  private final ExporterRegistry registry = new ExporterRegistry(List.of(
      named("otlp", otlpExporter), named("console", consoleExporter)));

  private static TelemetryExporter named(String name, SpanExporter exporter) {
    return new TelemetryExporter() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public SpanExporter createSpanExporter(ConfigProperties config) {
        return exporter;
      }
    };
  }

  private static ConfigProperties config(String exporters) {
    return DefaultConfigProperties.createFromMap(
        exporters == null ? Map.of() : Map.of("otel.traces.exporter", exporters));
  }

  @Test
  void defaultsToOtlp() {
    assertEquals(List.of(otlpExporter), registry.create(config(null)));
  }

  @Test
  void commaListInOrder() {
    List<SpanExporter> exporters = registry.create(config("console, otlp"));
    assertEquals(2, exporters.size());
    assertSame(consoleExporter, exporters.get(0));
    assertSame(otlpExporter, exporters.get(1));
  }

  @Test
  void noneDisablesExport() {
    assertEquals(List.of(), registry.create(config("none")));
    assertThrows(GoscopeException.class, () -> registry.create(config("none,otlp")));
  }

  @Test
  void unknownNameListsTheAvailableOnes() {
    GoscopeException e = assertThrows(GoscopeException.class, () -> registry.create(config("otlp,zipkin")));
    assertTrue(e.getMessage().contains("unknown exporter 'zipkin'"), e.getMessage());
    assertTrue(e.getMessage().contains("available: console, otlp"), e.getMessage());
  }

  private static ConfigProperties metricsConfig(String exporters) {
    return DefaultConfigProperties.createFromMap(
        exporters == null ? Map.of() : Map.of("otel.metrics.exporter", exporters));
  }

  @Test
  void metricExportersByOtelMetricsExporter() {
    MetricExporter metrics = new RecordingMetricExporter();
    ExporterRegistry withMetrics = new ExporterRegistry(List.of(new TelemetryExporter() {
      @Override
      public String name() {
        return "otlp";
      }

      @Override
      public SpanExporter createSpanExporter(ConfigProperties config) {
        return otlpExporter;
      }

      @Override
      public MetricExporter createMetricExporter(ConfigProperties config) {
        return metrics;
      }
    }, named("console", consoleExporter)));
    assertEquals(List.of(metrics), withMetrics.createMetricExporters(metricsConfig(null)), "default otlp");
    assertEquals(List.of(), withMetrics.createMetricExporters(metricsConfig("none")));
    assertEquals(List.of(), withMetrics.createMetricExporters(metricsConfig("console")),
        "an exporter without metric support is skipped");
    GoscopeException e = assertThrows(GoscopeException.class,
        () -> withMetrics.createMetricExporters(metricsConfig("prometheus")));
    assertTrue(e.getMessage().contains("otel.metrics.exporter"), e.getMessage());
    assertThrows(GoscopeException.class, () -> withMetrics.createMetricExporters(metricsConfig("none,otlp")));
  }
}
