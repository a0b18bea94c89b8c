package io.goscope.plugins.prometheus;

import io.goscope.api.GoscopeException;
import io.opentelemetry.exporter.prometheus.PrometheusHttpServer;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.CollectionRegistration;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Bridges Goscope's push-style metric pipeline to Prometheus' pull: each export keeps the latest cumulative
 * collection, and the OpenTelemetry Prometheus HTTP server renders it on every scrape (text or OpenMetrics, as the
 * scraper asks). Between exports a scrape sees the last collection ({@code OTEL_METRIC_EXPORT_INTERVAL} old at
 * most).
 */
final class PrometheusMetricExporter implements MetricExporter {
  private final PrometheusHttpServer server;
  private final String address;
  private volatile Collection<MetricData> latest = List.of();

  private PrometheusMetricExporter(PrometheusHttpServer server, String address) {
    this.server = server;
    this.address = address;
  }

  static PrometheusMetricExporter start(String host, int port, List<String> resourceAttributes) {
    Set<String> allowed = Set.copyOf(resourceAttributes);
    PrometheusHttpServer server;
    try {
      server = PrometheusHttpServer.builder().setHost(host).setPort(port)
          .setAllowedResourceAttributesFilter(allowed::contains)
          // target_info describes one SDK resource; here every process has its own, copied onto its series.
          .setTargetInfoMetricEnabled(false).build();
    } catch (RuntimeException e) {
      throw new GoscopeException("start prometheus exporter on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    PrometheusMetricExporter exporter = new PrometheusMetricExporter(server, host + ":" + port);
    server.register(new CollectionRegistration() {
      @Override
      public Collection<MetricData> collectAllMetrics() {
        return exporter.latest;
      }
    });
    return exporter;
  }

  @Override
  public CompletableResultCode export(Collection<MetricData> metrics) {
    latest = List.copyOf(metrics);
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
    return AggregationTemporality.CUMULATIVE;
  }

  @Override
  public CompletableResultCode flush() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    return server.shutdown();
  }

  @Override
  public String toString() {
    return "PrometheusMetricExporter{address=" + address + "}";
  }
}
