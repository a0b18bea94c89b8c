package io.goscope.plugins.otlp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.ProcessInfo;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.platform.export.ResourceFactory;
import io.goscope.platform.export.TelemetryPipeline;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What the OTLP/HTTP and the OTLP/gRPC tests send alike, each with what a receiver must decode from it: the traced
 * Go process's resource, one HTTP request as a {@code SERVER} span with a failed {@code CLIENT} child (its SQL
 * query), and the request-duration histogram. The tests keep what is their protocol's own: headers or metadata,
 * retries and status codes, and how the epoch timestamps are checked.
 */
final class ExportFixtures {
  static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String SERVER_SPAN = "GET /users/{id}";
  static final String CLIENT_SPAN = "SELECT users";
  static final String CLIENT_SPAN_ID = "c8be7c8270314442";
  /** How long the server span lasts; its client child starts 1 ms after it and ends 3 ms after it. */
  static final long SERVER_DURATION_NANOS = 12_500_000L;

  static final HistogramInstrument DURATION = new HistogramInstrument("http.server.request.duration", "s",
      "Duration of HTTP server requests.", List.of(0.005, 0.01, 0.025, 0.05), "io.goscope.nethttp");
  /** A GET answered with 200, for {@link #DURATION}. */
  static final Attributes OK = Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
      AttributeKey.longKey("http.response.status_code"), 200L);
  /** {@link #OK} as a receiver decodes it. */
  static final Map<String, Object> OK_DECODED = Map.of("http.request.method", "GET",
      "http.response.status_code", 200L);

  private ExportFixtures() {}

  static ConfigProperties config(Map<String, String> props) {
    return DefaultConfigProperties.createFromMap(props);
  }

  /** A traced Go process's resource, as the agent builds it. */
  static Resource resource() {
    ResourceFactory factory = new ResourceFactory(
        config(Map.of("otel.resource.attributes", "deployment.environment.name=e2e")), "node-1", "0.1.0");
    ProcessInfo process = new ProcessInfo(4242, List.of(4242), "/app/bin/checkout", List.of("/app/bin/checkout"),
        Map.of("OTEL_SERVICE_NAME", "payments"), 1L, null, null);
    return factory.create(process, "go1.19.8",
        Attributes.of(AttributeKey.stringKey("k8s.namespace.name"), "shop"));
  }

  /** Asserts the attributes of {@link #resource()} as a receiver decodes them. */
  static void assertResource(Map<String, Object> res) {
    assertEquals("payments", res.get("service.name"), "resource: " + res);
    assertEquals(4242L, res.get("process.pid"), "resource: " + res);
    assertEquals("checkout", res.get("process.executable.name"), "resource: " + res);
    assertEquals("go", res.get("process.runtime.name"), "resource: " + res);
    assertEquals("go1.19.8", res.get("process.runtime.version"), "resource: " + res);
    assertEquals("shop", res.get("k8s.namespace.name"), "resource: " + res);
    assertEquals("e2e", res.get("deployment.environment.name"), "resource: " + res);
    assertEquals("node-1", res.get("host.name"), "resource: " + res);
  }

  /**
   * A pipeline that exports every 20 ms and takes kernel time for epoch time (offset 0), for tests of what is
   * delivered, not when.
   */
  static TelemetryPipeline spanPipeline(SpanExporter exporter) {
    return TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(0)).scheduleDelay(Duration.ofMillis(20)).build();
  }

  /** A pipeline that exports every 100 ms. */
  static MetricPipeline metricPipeline(MetricExporter exporter) {
    return MetricPipeline.builder().addExporter(exporter).exportInterval(Duration.ofMillis(100)).build();
  }

  /**
   * {@code GET /users/42}, answered with 200, lasting {@link #SERVER_DURATION_NANOS}.
   *
   * @param parentSpanId empty for a root span
   */
  static ProbeSpan serverSpan(String spanId, String parentSpanId, long startKtimeNanos) {
    return ProbeSpan.builder(SERVER_SPAN, "io.goscope.nethttp")
        .kind(SpanKind.SERVER)
        .timestamps(startKtimeNanos, startKtimeNanos + SERVER_DURATION_NANOS)
        .traceId(TRACE_ID).spanId(spanId).parentSpanId(parentSpanId)
        .attributes(Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
            AttributeKey.longKey("http.response.status_code"), 200L,
            AttributeKey.stringKey("url.path"), "/users/42"))
        .build();
  }

  /** The server span's SQL query, failed with "connection reset", from 1 to 3 ms into the server span. */
  static ProbeSpan clientSpan(String serverSpanId, long serverStartKtimeNanos) {
    return ProbeSpan.builder(CLIENT_SPAN, "io.goscope.sql")
        .kind(SpanKind.CLIENT)
        .timestamps(serverStartKtimeNanos + 1_000_000, serverStartKtimeNanos + 3_000_000)
        .traceId(TRACE_ID).spanId(CLIENT_SPAN_ID).parentSpanId(serverSpanId)
        .status(StatusCode.ERROR, "connection reset")
        .build();
  }

  static ReceivedSpan named(List<ReceivedSpan> spans, String name) {
    return spans.stream().filter(s -> s.name().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no span named " + name + " in " + spans));
  }

  /** Asserts {@link #serverSpan} as received, its resource ({@link #assertResource}) included. */
  static void assertServerSpan(ReceivedSpan server, String spanId, String parentSpanId) {
    assertEquals(SERVER_SPAN, server.name());
    assertEquals("SERVER", server.kind());
    assertEquals(TRACE_ID, server.traceId());
    assertEquals(spanId, server.spanId());
    assertEquals(parentSpanId, server.parentSpanId());
    assertEquals(Map.of("http.request.method", "GET", "http.response.status_code", 200L, "url.path", "/users/42"),
        server.attributes());
    assertEquals("io.goscope.nethttp", server.scope());
    assertEquals("UNSET", server.status());
    assertEquals(SERVER_DURATION_NANOS, server.endEpochNanos() - server.startEpochNanos());
    assertResource(server.resourceAttributes());
  }

  /** Asserts {@link #clientSpan} as received, timed and parented by the received {@code server} span. */
  static void assertClientSpan(ReceivedSpan client, ReceivedSpan server) {
    assertEquals(CLIENT_SPAN, client.name());
    assertEquals("CLIENT", client.kind());
    assertEquals("ERROR", client.status());
    assertEquals("connection reset", client.statusMessage());
    assertEquals(TRACE_ID, client.traceId());
    assertEquals(CLIENT_SPAN_ID, client.spanId());
    assertEquals(server.spanId(), client.parentSpanId());
    assertEquals(server.startEpochNanos() + 1_000_000, client.startEpochNanos());
    assertEquals(server.startEpochNanos() + 3_000_000, client.endEpochNanos());
  }

  /**
   * Asserts a cumulative {@link #DURATION} point of {@link #resource()} with the given attributes (as decoded) and
   * what was recorded into it.
   */
  static void assertDurationPoint(ReceivedHistogramPoint point, Map<String, Object> attributes,
      List<Long> bucketCounts, long count, double sum) {
    assertEquals("http.server.request.duration", point.name());
    assertEquals("s", point.unit());
    assertEquals("io.goscope.nethttp", point.scope());
    assertEquals("CUMULATIVE", point.temporality());
    assertEquals(attributes, point.attributes());
    assertEquals(List.of(0.005, 0.01, 0.025, 0.05), point.explicitBounds());
    assertEquals(bucketCounts, point.bucketCounts());
    assertEquals(count, point.count());
    assertEquals(sum, point.sum(), 1e-12);
    assertResource(point.resourceAttributes());
  }
}
