package io.goscope.plugins.prometheus;

import static java.util.Objects.requireNonNull;

import io.goscope.api.GoscopeException;
import io.goscope.api.TelemetryExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.List;
import org.pf4j.Extension;

/**
 * The {@code prometheus} metric exporter, for users who scrape instead of push: {@code OTEL_METRICS_EXPORTER=prometheus}
 * serves the request-duration histograms (and the agent's self-metrics) on
 * {@code http://<OTEL_EXPORTER_PROMETHEUS_HOST>:<OTEL_EXPORTER_PROMETHEUS_PORT>/metrics} (default {@code 0.0.0.0:9464},
 * the OpenTelemetry Java SDK's names and defaults), through the OpenTelemetry Java Prometheus exporter's HTTP server.
 * Each traced process's identity ({@link #DEFAULT_RESOURCE_ATTRIBUTES}, or {@code GOSCOPE_PROMETHEUS_RESOURCE_ATTRIBUTES})
 * is copied from its resource onto its series as labels, since one scrape carries every process. Metrics only: as a
 * span exporter it is refused with a message naming the variable to use.
 */
@Extension
public final class PrometheusTelemetryExporter implements TelemetryExporter {
  public static final String NAME = "prometheus";
  static final String HOST_PROPERTY = "otel.exporter.prometheus.host";
  static final String PORT_PROPERTY = "otel.exporter.prometheus.port";
  static final String RESOURCE_ATTRIBUTES_PROPERTY = "goscope.prometheus.resource.attributes";
  static final String DEFAULT_HOST = "0.0.0.0";
  static final int DEFAULT_PORT = 9464;
  /** Resource attributes copied onto every series: which process, workload and node a series belongs to. */
  public static final List<String> DEFAULT_RESOURCE_ATTRIBUTES = List.of("service.name", "service.namespace",
      "process.pid", "process.executable.name", "host.name", "k8s.namespace.name", "k8s.pod.name",
      "k8s.container.name", "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public SpanExporter createSpanExporter(ConfigProperties config) {
    throw new GoscopeException("the prometheus exporter serves metrics only: set OTEL_METRICS_EXPORTER=prometheus and "
        + "choose OTEL_TRACES_EXPORTER among otlp, console or none");
  }

  @Override
  public MetricExporter createMetricExporter(ConfigProperties config) {
    requireNonNull(config, "config");
    String host = config.getString(HOST_PROPERTY, DEFAULT_HOST);
    int port = config.getInt(PORT_PROPERTY, DEFAULT_PORT);
    List<String> attributes = config.getList(RESOURCE_ATTRIBUTES_PROPERTY, DEFAULT_RESOURCE_ATTRIBUTES);
    return PrometheusMetricExporter.start(host, port, attributes);
  }
}
