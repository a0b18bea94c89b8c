package io.goscope.plugins.otlp;

import static io.goscope.plugins.otlp.ExportFixtures.CLIENT_SPAN;
import static io.goscope.plugins.otlp.ExportFixtures.DURATION;
import static io.goscope.plugins.otlp.ExportFixtures.OK;
import static io.goscope.plugins.otlp.ExportFixtures.OK_DECODED;
import static io.goscope.plugins.otlp.ExportFixtures.SERVER_DURATION_NANOS;
import static io.goscope.plugins.otlp.ExportFixtures.SERVER_SPAN;
import static io.goscope.plugins.otlp.ExportFixtures.assertClientSpan;
import static io.goscope.plugins.otlp.ExportFixtures.assertDurationPoint;
import static io.goscope.plugins.otlp.ExportFixtures.assertServerSpan;
import static io.goscope.plugins.otlp.ExportFixtures.clientSpan;
import static io.goscope.plugins.otlp.ExportFixtures.config;
import static io.goscope.plugins.otlp.ExportFixtures.metricPipeline;
import static io.goscope.plugins.otlp.ExportFixtures.named;
import static io.goscope.plugins.otlp.ExportFixtures.resource;
import static io.goscope.plugins.otlp.ExportFixtures.serverSpan;
import static io.goscope.plugins.otlp.ExportFixtures.spanPipeline;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetryExporter;
import io.goscope.api.TelemetrySink;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.platform.export.TelemetryPipeline;
import io.goscope.platform.sys.Clocks;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.File;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pf4j.ClassLoadingStrategy;
import org.pf4j.DefaultPluginDescriptor;
import org.pf4j.PluginClassLoader;

class OtlpTelemetryExporterTest {
  private static long nowEpochNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  @Test
  void httpProtobufEndToEnd() throws Exception {
    try (OtlpReceiver receiver = OtlpReceiver.start()) {
      SpanExporter exporter = new OtlpTelemetryExporter().createSpanExporter(config(Map.of(
          "otel.exporter.otlp.endpoint", receiver.endpoint(),
          "otel.exporter.otlp.protocol", "http/protobuf",
          "otel.exporter.otlp.compression", "gzip",
          "otel.exporter.otlp.headers", "x-api-key=secret")));
      TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter).clock(KernelClock.system())
          .scheduleDelay(Duration.ofMillis(50)).build();
      TelemetrySink sink = pipeline.sinkFor(resource());
      Clocks clocks = Clocks.create();
      long endKtime = clocks.monotonicNanos();
      long nowEpoch = nowEpochNanos();
      long startKtime = endKtime - SERVER_DURATION_NANOS;
      // A server span that continues a remote trace: its parent came in with the request's traceparent.
      sink.span(serverSpan("b7ad6b7169203331", "00f067aa0ba902b7", startKtime));
      sink.span(clientSpan("b7ad6b7169203331", startKtime));
      sink.span(ProbeSpan.builder("no ids", "io.goscope.test").timestamps(startKtime, endKtime).build());

      List<ReceivedSpan> spans = receiver.awaitSpans(3, Duration.ofSeconds(10));
      assertEquals(3, spans.size());
      ReceivedSpan server = named(spans, SERVER_SPAN);
      assertServerSpan(server, "b7ad6b7169203331", "00f067aa0ba902b7");
      long skewNanos = server.endEpochNanos() - nowEpoch;
      System.out.printf("kernel->epoch conversion skew vs Instant.now(): %.3f ms%n", skewNanos / 1e6);
      assertTrue(Math.abs(skewNanos) < 5_000_000, "end time off by " + skewNanos + " ns");
      assertClientSpan(named(spans, CLIENT_SPAN), server);

      ReceivedSpan generated = named(spans, "no ids");
      assertEquals(32, generated.traceId().length());
      assertNotEquals("0".repeat(32), generated.traceId());
      assertEquals("", generated.parentSpanId());

      assertEquals(List.of("gzip"), receiver.lastHeaders().get("content-encoding"));
      assertEquals(List.of("secret"), receiver.lastHeaders().get("x-api-key"));
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      assertEquals(3, pipeline.exportedSpans());
      assertEquals(0, pipeline.failedSpans());
    }
  }

  @Test
  void histogramsRoundTripOverOtlpHttp() throws Exception {
    Attributes failed = Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
        AttributeKey.longKey("http.response.status_code"), 500L, AttributeKey.stringKey("error.type"), "500");
    try (OtlpReceiver receiver = OtlpReceiver.start()) {
      // No protocol set: the spec default http/protobuf must be used for metrics too (the receiver speaks only it).
      MetricExporter exporter = new OtlpTelemetryExporter().createMetricExporter(config(Map.of(
          "otel.exporter.otlp.metrics.endpoint", receiver.endpoint() + "/v1/metrics",
          "otel.exporter.otlp.compression", "gzip")));
      MetricPipeline pipeline = metricPipeline(exporter);
      TelemetrySink sink = pipeline.sinkFor(resource(), span -> { });
      sink.histogram(DURATION, 0.003, OK);
      sink.histogram(DURATION, 0.030, OK);
      sink.histogram(DURATION, 2.0, failed);

      List<ReceivedHistogramPoint> points = receiver.awaitHistogramPoints(p -> p.size() >= 2, Duration.ofSeconds(10));
      sink.histogram(DURATION, 0.004, OK); // cumulative: the next export carries 3
      receiver.awaitHistogramPoints(p -> p.stream().anyMatch(x -> x.count() == 3), Duration.ofSeconds(10));
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(receiver.histogramPoints());
      assertEquals(2, latest.size(), "two series: " + latest.keySet());
      ReceivedHistogramPoint okPoint = latest.values().stream()
          .filter(p -> Long.valueOf(200).equals(p.attributes().get("http.response.status_code"))).findFirst().get();
      assertDurationPoint(okPoint, OK_DECODED, List.of(2L, 0L, 0L, 1L, 0L), 3, 0.037);
      assertEquals(1, okPoint.countAtLeast(0.025));
      assertTrue(okPoint.startEpochNanos() > 0 && okPoint.startEpochNanos() < okPoint.epochNanos());
      ReceivedHistogramPoint failedPoint = latest.values().stream()
          .filter(p -> "500".equals(p.attributes().get("error.type"))).findFirst().get();
      assertDurationPoint(failedPoint,
          Map.of("http.request.method", "GET", "http.response.status_code", 500L, "error.type", "500"),
          List.of(0L, 0L, 0L, 0L, 1L), 1, 2.0);
      assertEquals(List.of("gzip"), receiver.lastHeaders().get("content-encoding"));
      assertEquals(0, pipeline.failedExports());
    }
  }

  @Test
  void retriesWhileTheBackendAnswers503() throws Exception {
    try (OtlpReceiver receiver = OtlpReceiver.start()) {
      receiver.failNextRequests(2);
      SpanExporter exporter = new OtlpTelemetryExporter().createSpanExporter(config(Map.of(
          "otel.exporter.otlp.traces.endpoint", receiver.tracesEndpoint(),
          "otel.exporter.otlp.protocol", "http/protobuf")));
      TelemetryPipeline pipeline = spanPipeline(exporter);
      pipeline.sinkFor(Resource.empty()).span(ProbeSpan.builder("retried", "io.goscope.test").build());
      assertEquals("retried", receiver.awaitSpans(1, Duration.ofSeconds(20)).get(0).name());
      assertEquals(2, receiver.rejectedRequests());
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      assertEquals(1, pipeline.exportedSpans());
      assertEquals(0, pipeline.failedSpans());
    }
  }

  @Test
  void downEndpointNeitherBlocksTheProducerNorLosesCount() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    SpanExporter exporter = new OtlpTelemetryExporter().createSpanExporter(config(Map.of(
        "otel.exporter.otlp.endpoint", "http://127.0.0.1:" + port,
        "otel.exporter.otlp.protocol", "http/protobuf",
        "otel.exporter.otlp.timeout", "500")));
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(0)).maxQueueSize(1024).maxExportBatchSize(512)
        .scheduleDelay(Duration.ofMillis(20)).exporterTimeout(Duration.ofSeconds(1)).build();
    TelemetrySink sink = pipeline.sinkFor(Resource.empty());
    ProbeSpan span = ProbeSpan.builder("lost", "io.goscope.test").build();
    int burst = 100_000;
    long t0 = System.nanoTime();
    for (int i = 0; i < burst; i++) {
      sink.span(span);
    }
    long elapsed = System.nanoTime() - t0;
    System.out.printf("down endpoint: %d offers took %.2f ms, dropped=%d%n", burst, elapsed / 1e6,
        pipeline.droppedSpans());
    assertTrue(elapsed < TimeUnit.SECONDS.toNanos(2), "producer took " + elapsed / 1e6 + " ms");
    assertTrue(pipeline.droppedSpans() >= burst - 1024 - 512, "dropped " + pipeline.droppedSpans());

    // The worker may already have failed every queued batch; what is left is flushed at shutdown.
    pipeline.shutdown().join(30, TimeUnit.SECONDS);
    System.out.printf("down endpoint: exported=%d failed=%s dropped=%s outcomes=%s%n", pipeline.exportedSpans(),
        pipeline.failedSpansByReason(), pipeline.droppedSpansByReason(), pipeline.exportsByOutcome());
    assertEquals(0, pipeline.exportedSpans());
    // A refused connection is retryable: batches are held, not failed, and what is left at shutdown is dropped.
    // (the sender's own retries outlast the pipeline's 1 s export timeout here, hence "timeout")
    assertTrue(pipeline.exportsByOutcome().keySet().stream().allMatch(TelemetryPipeline::retryable),
        pipeline.exportsByOutcome().toString());
    assertEquals(0, pipeline.failedSpans());
    assertEquals(burst, pipeline.exportedSpans() + pipeline.failedSpans() + pipeline.droppedSpans());
  }

  @Test
  void gzipByDefaultNoneOnRequest() throws Exception {
    try (OtlpReceiver receiver = OtlpReceiver.start()) {
      for (String compression : new String[] {null, "none"}) {
        Map<String, String> props = new java.util.HashMap<>(Map.of(
            "otel.exporter.otlp.traces.endpoint", receiver.tracesEndpoint()));
        if (compression != null) {
          props.put("otel.exporter.otlp.compression", compression);
        }
        TelemetryPipeline pipeline = spanPipeline(new OtlpTelemetryExporter().createSpanExporter(config(props)));
        int before = receiver.spans().size();
        pipeline.sinkFor(Resource.empty()).span(ProbeSpan.builder("c", "io.goscope.test").build());
        receiver.awaitSpans(before + 1, Duration.ofSeconds(10));
        assertEquals(compression == null ? List.of("gzip") : null, receiver.lastHeaders().get("content-encoding"),
            "compression=" + compression);
        assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      }
    }
  }

  /** The type check only; {@link OtlpGrpcExporterTest} sends over gRPC to a real gRPC receiver. */
  @Test
  void protocolSelectsTheGrpcOrHttpExporter() {
    OtlpTelemetryExporter otlp = new OtlpTelemetryExporter();
    SpanExporter grpc = otlp.createSpanExporter(config(Map.of("otel.exporter.otlp.protocol", "grpc",
        "otel.exporter.otlp.endpoint", "http://collector:4317")));
    assertEquals("OtlpGrpcSpanExporter", grpc.getClass().getSimpleName());
    assertTrue(grpc.toString().contains("collector:4317"), grpc.toString());
    grpc.shutdown();

    SpanExporter tracesVariant = otlp.createSpanExporter(config(Map.of(
        "otel.exporter.otlp.protocol", "http/protobuf", "otel.exporter.otlp.traces.protocol", "grpc")));
    assertEquals("OtlpGrpcSpanExporter", tracesVariant.getClass().getSimpleName());
    tracesVariant.shutdown();

    // Goscope defaults to the specification's http/protobuf, not the Java SDK's grpc.
    SpanExporter byDefault = otlp.createSpanExporter(config(Map.of()));
    assertEquals("OtlpHttpSpanExporter", byDefault.getClass().getSimpleName());
    assertTrue(byDefault.toString().contains("localhost:4318/v1/traces"), byDefault.toString());
    byDefault.shutdown();

    SpanExporter tracesHttp = otlp.createSpanExporter(config(Map.of(
        "otel.exporter.otlp.protocol", "grpc", "otel.exporter.otlp.traces.protocol", "http/protobuf",
        "otel.exporter.otlp.traces.endpoint", "http://collector:4318/custom")));
    assertEquals("OtlpHttpSpanExporter", tracesHttp.getClass().getSimpleName());
    assertTrue(tracesHttp.toString().contains("collector:4318/custom"), tracesHttp.toString());
    tracesHttp.shutdown();
  }

  @Test
  void worksFromAPluginClassLoaderWithTheSdkFromTheHost() throws Exception {
    File pluginClasses = new File(OtlpTelemetryExporter.class.getProtectionDomain().getCodeSource().getLocation()
        .toURI());
    DefaultPluginDescriptor descriptor = new DefaultPluginDescriptor("exporter-otlp", "", OtlpExporterPlugin.class
        .getName(), "0.1.0", "", "", "");
    try (PluginClassLoader loader = new PluginClassLoader(null, descriptor, getClass().getClassLoader(),
        ClassLoadingStrategy.PDA)) {
      loader.addFile(pluginClasses);
      Class<?> extension = loader.loadClass(OtlpTelemetryExporter.class.getName());
      assertSame(loader, extension.getClassLoader(), "the plugin's own class comes from the plugin loader");
      assertNotSame(OtlpTelemetryExporter.class, extension);
      assertSame(SpanExporter.class, loader.loadClass(SpanExporter.class.getName()),
          "io.opentelemetry.* must resolve to the host's classes");
      TelemetryExporter exporter = (TelemetryExporter) extension.getDeclaredConstructor().newInstance();
      SpanExporter created = exporter.createSpanExporter(config(Map.of()));
      assertEquals("OtlpHttpSpanExporter", created.getClass().getSimpleName());
      created.shutdown();
    }
  }
}
