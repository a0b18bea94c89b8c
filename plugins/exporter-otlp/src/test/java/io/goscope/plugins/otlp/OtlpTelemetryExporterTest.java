package io.goscope.plugins.otlp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.ProcessInfo;
import io.goscope.api.TelemetryExporter;
import io.goscope.api.TelemetrySink;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.platform.export.ResourceFactory;
import io.goscope.platform.export.TelemetryPipeline;
import io.goscope.platform.sys.Clocks;
import io.goscope.testing.OtlpReceiver;
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
  private static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";

  static ConfigProperties config(Map<String, String> props) {
    return DefaultConfigProperties.createFromMap(props);
  }

  static long nowEpochNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
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
      long startKtime = endKtime - 12_500_000;
      sink.span(ProbeSpan.builder("GET /users/{id}", "io.goscope.nethttp")
          .kind(SpanKind.SERVER)
          .timestamps(startKtime, endKtime)
          .traceId(TRACE_ID).spanId("b7ad6b7169203331").parentSpanId("00f067aa0ba902b7")
          .attributes(Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
              AttributeKey.longKey("http.response.status_code"), 200L,
              AttributeKey.stringKey("url.path"), "/users/42"))
          .build());
      sink.span(ProbeSpan.builder("SELECT users", "io.goscope.sql")
          .kind(SpanKind.CLIENT)
          .timestamps(startKtime + 1_000_000, startKtime + 3_000_000)
          .traceId(TRACE_ID).spanId("c8be7c8270314442").parentSpanId("b7ad6b7169203331")
          .status(StatusCode.ERROR, "connection reset")
          .build());
      sink.span(ProbeSpan.builder("no ids", "io.goscope.test").timestamps(startKtime, endKtime).build());

      List<ReceivedSpan> spans = receiver.awaitSpans(3, Duration.ofSeconds(10));
      assertEquals(3, spans.size());
      ReceivedSpan server = spans.stream().filter(s -> s.name().equals("GET /users/{id}")).findFirst().get();
      assertEquals("SERVER", server.kind());
      assertEquals(TRACE_ID, server.traceId());
      assertEquals("b7ad6b7169203331", server.spanId());
      assertEquals("00f067aa0ba902b7", server.parentSpanId());
      assertEquals(Map.of("http.request.method", "GET", "http.response.status_code", 200L, "url.path", "/users/42"),
          server.attributes());
      assertEquals("io.goscope.nethttp", server.scope());
      assertEquals("UNSET", server.status());
      assertEquals(12_500_000L, server.endEpochNanos() - server.startEpochNanos());
      long skewNanos = server.endEpochNanos() - nowEpoch;
      System.out.printf("kernel->epoch conversion skew vs Instant.now(): %.3f ms%n", skewNanos / 1e6);
      assertTrue(Math.abs(skewNanos) < 5_000_000, "end time off by " + skewNanos + " ns");

      Map<String, Object> res = server.resourceAttributes();
      assertEquals("payments", res.get("service.name"));
      assertEquals(4242L, res.get("process.pid"));
      assertEquals("checkout", res.get("process.executable.name"));
      assertEquals("go", res.get("process.runtime.name"));
      assertEquals("go1.19.8", res.get("process.runtime.version"));
      assertEquals("shop", res.get("k8s.namespace.name"));
      assertEquals("e2e", res.get("deployment.environment.name"));
      assertEquals("node-1", res.get("host.name"));

      ReceivedSpan client = spans.stream().filter(s -> s.name().equals("SELECT users")).findFirst().get();
      assertEquals("CLIENT", client.kind());
      assertEquals("ERROR", client.status());
      assertEquals("connection reset", client.statusMessage());
      assertEquals("b7ad6b7169203331", client.parentSpanId());
      assertEquals(server.startEpochNanos() + 1_000_000, client.startEpochNanos());

      ReceivedSpan generated = spans.stream().filter(s -> s.name().equals("no ids")).findFirst().get();
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
    HistogramInstrument duration = new HistogramInstrument("http.server.request.duration", "s",
        "Duration of HTTP server requests.", List.of(0.005, 0.01, 0.025, 0.05), "io.goscope.nethttp");
    Attributes ok = Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
        AttributeKey.longKey("http.response.status_code"), 200L);
    Attributes failed = Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
        AttributeKey.longKey("http.response.status_code"), 500L, AttributeKey.stringKey("error.type"), "500");
    try (OtlpReceiver receiver = OtlpReceiver.start()) {
      // No protocol set: the spec default http/protobuf must be used for metrics too (the receiver speaks only it).
      MetricExporter exporter = new OtlpTelemetryExporter().createMetricExporter(config(Map.of(
          "otel.exporter.otlp.metrics.endpoint", receiver.endpoint() + "/v1/metrics",
          "otel.exporter.otlp.compression", "gzip")));
      MetricPipeline pipeline = MetricPipeline.builder().addExporter(exporter)
          .exportInterval(Duration.ofMillis(100)).build();
      TelemetrySink sink = pipeline.sinkFor(resource(), span -> { });
      sink.histogram(duration, 0.003, ok);
      sink.histogram(duration, 0.030, ok);
      sink.histogram(duration, 2.0, failed);

      List<ReceivedHistogramPoint> points = receiver.awaitHistogramPoints(p -> p.size() >= 2, Duration.ofSeconds(10));
      sink.histogram(duration, 0.004, ok); // cumulative: the next export carries 3
      receiver.awaitHistogramPoints(p -> p.stream().anyMatch(x -> x.count() == 3), Duration.ofSeconds(10));
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(receiver.histogramPoints());
      assertEquals(2, latest.size(), "two series: " + latest.keySet());
      ReceivedHistogramPoint okPoint = latest.values().stream()
          .filter(p -> Long.valueOf(200).equals(p.attributes().get("http.response.status_code"))).findFirst().get();
      assertEquals("http.server.request.duration", okPoint.name());
      assertEquals("s", okPoint.unit());
      assertEquals("io.goscope.nethttp", okPoint.scope());
      assertEquals("CUMULATIVE", okPoint.temporality());
      assertEquals(List.of(0.005, 0.01, 0.025, 0.05), okPoint.explicitBounds());
      assertEquals(List.of(2L, 0L, 0L, 1L, 0L), okPoint.bucketCounts());
      assertEquals(3, okPoint.count());
      assertEquals(0.037, okPoint.sum(), 1e-12);
      assertEquals(1, okPoint.countAtLeast(0.025));
      assertTrue(okPoint.startEpochNanos() > 0 && okPoint.startEpochNanos() < okPoint.epochNanos());
      assertEquals("payments", okPoint.resourceAttributes().get("service.name"));
      assertEquals(4242L, okPoint.resourceAttributes().get("process.pid"));
      assertEquals("shop", okPoint.resourceAttributes().get("k8s.namespace.name"));
      ReceivedHistogramPoint failedPoint = latest.values().stream()
          .filter(p -> "500".equals(p.attributes().get("error.type"))).findFirst().get();
      assertEquals(List.of(0L, 0L, 0L, 0L, 1L), failedPoint.bucketCounts());
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
      TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
          .clock(KernelClock.fixedOffset(0)).scheduleDelay(Duration.ofMillis(20)).build();
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
    System.out.printf("down endpoint: exported=%d failed=%d dropped=%d%n", pipeline.exportedSpans(),
        pipeline.failedSpans(), pipeline.droppedSpans());
    assertEquals(0, pipeline.exportedSpans());
    assertTrue(pipeline.failedSpans() > 0);
    assertEquals(burst, pipeline.exportedSpans() + pipeline.failedSpans() + pipeline.droppedSpans());
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
