package io.goscope.plugins.prometheus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.GoscopeException;
import io.goscope.api.HistogramInstrument;
import io.goscope.api.TelemetrySink;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.testing.PrometheusParser;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.resources.Resource;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PrometheusTelemetryExporterTest {
  static final HistogramInstrument DURATION = new HistogramInstrument("http.server.request.duration", "s",
      "Duration of HTTP server requests.", List.of(0.005, 0.01, 0.025, 0.05), "io.goscope.nethttp");

  private static String scrape(int port, String accept) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .timeout(Duration.ofSeconds(10));
    if (accept != null) {
      b.header("Accept", accept);
    }
    HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    return r.body();
  }

  @Test
  void servesTheHistogramsOfEveryProcessWithTheirIdentity() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    MetricExporter exporter = new PrometheusTelemetryExporter().createMetricExporter(
        DefaultConfigProperties.createFromMap(Map.of("otel.exporter.prometheus.host", "127.0.0.1",
            "otel.exporter.prometheus.port", Integer.toString(port))));
    MetricPipeline pipeline = MetricPipeline.builder().addExporter(exporter).exportInterval(Duration.ofHours(1))
        .build();
    Attributes ok = Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
        AttributeKey.longKey("http.response.status_code"), 200L);
    for (long pid : new long[] {101, 202}) {
      Resource r = Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "svc" + pid,
          AttributeKey.longKey("process.pid"), pid, AttributeKey.stringKey("process.command_line"), "not copied"));
      TelemetrySink sink = pipeline.sinkFor(r, span -> { });
      for (int i = 0; i < pid / 100; i++) {
        sink.histogram(DURATION, 0.003 * (i + 1), ok);
      }
    }
    assertTrue(pipeline.forceFlush().join(10, TimeUnit.SECONDS).isSuccess());

    PrometheusParser.Parsed text = PrometheusParser.text(scrape(port, null));
    double one = text.samples().entrySet().stream().filter(e -> e.getKey().startsWith(
        "http_server_request_duration_seconds_count") && e.getKey().contains("process_pid=101"))
        .mapToDouble(Map.Entry::getValue).sum();
    double two = text.samples().entrySet().stream().filter(e -> e.getKey().startsWith(
        "http_server_request_duration_seconds_count") && e.getKey().contains("process_pid=202"))
        .mapToDouble(Map.Entry::getValue).sum();
    assertEquals(1, one, "process 101's requests: " + text.samples().keySet());
    assertEquals(2, two, "process 202's requests");
    assertTrue(text.samples().keySet().stream().noneMatch(k -> k.contains("not copied")), "only allowed attributes");
    assertEquals("histogram", text.families().get("http_server_request_duration_seconds"));

    PrometheusParser.Parsed om = PrometheusParser.openMetrics(scrape(port,
        "application/openmetrics-text; version=1.0.0"));
    assertTrue(om.samples().keySet().stream().anyMatch(k -> k.startsWith("http_server_request_duration_seconds_bucket")),
        om.samples().keySet().toString());
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
  }

  @Test
  void refusesToExportSpans() {
    GoscopeException e = assertThrows(GoscopeException.class, () -> new PrometheusTelemetryExporter()
        .createSpanExporter(DefaultConfigProperties.createFromMap(Map.of())));
    assertTrue(e.getMessage().contains("OTEL_METRICS_EXPORTER=prometheus"), e.getMessage());
  }
}
