package io.goscope.plugins.otlp;

import static io.goscope.plugins.otlp.ExportFixtures.CLIENT_SPAN;
import static io.goscope.plugins.otlp.ExportFixtures.DURATION;
import static io.goscope.plugins.otlp.ExportFixtures.OK;
import static io.goscope.plugins.otlp.ExportFixtures.OK_DECODED;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.platform.export.TelemetryPipeline;
import io.goscope.plugins.otlp.GrpcOtlpReceiver.Call;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.grpc.Status;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * OTLP over gRPC ({@code otel.exporter.otlp[.signal].protocol=grpc}): the SDK's gRPC exporters, built by
 * {@link OtlpTelemetryExporter} and driven by the agent's pipelines, against a real gRPC server on loopback
 * ({@link GrpcOtlpReceiver}) that decodes the protobuf.
 */
class OtlpGrpcExporterTest {
  private static final Duration AWAIT = Duration.ofSeconds(20);

  @Test
  void spansArriveOverGrpcWithTheConfiguredHeadersAsMetadata() throws Exception {
    try (GrpcOtlpReceiver receiver = GrpcOtlpReceiver.start()) {
      SpanExporter exporter = new OtlpTelemetryExporter().createSpanExporter(config(Map.of(
          "otel.exporter.otlp.endpoint", receiver.endpoint(),
          "otel.exporter.otlp.protocol", "grpc",
          "otel.exporter.otlp.compression", "gzip",
          // Values are URL-decoded by the SDK (the spec's W3C-baggage-like format).
          "otel.exporter.otlp.headers", "x-api-key=secret,authorization=Bearer%20t0ken")));
      TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
          .clock(KernelClock.fixedOffset(1_700_000_000_000_000_000L)).scheduleDelay(Duration.ofMillis(20)).build();
      TelemetrySink sink = pipeline.sinkFor(resource());
      sink.span(serverSpan("00f067aa0ba902b7", "", 1_000_000_000L)); // a root span
      sink.span(clientSpan("00f067aa0ba902b7", 1_000_000_000L));

      List<ReceivedSpan> spans = receiver.awaitSpans(2, AWAIT);
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      assertEquals(2, receiver.spans().size(), "each span once: " + receiver.spans());

      ReceivedSpan server = named(spans, SERVER_SPAN);
      assertServerSpan(server, "00f067aa0ba902b7", "");
      // Kernel time plus the pipeline's fixed offset, to the nanosecond.
      assertEquals(1_700_000_001_000_000_000L, server.startEpochNanos());
      assertEquals(1_700_000_001_012_500_000L, server.endEpochNanos());
      assertClientSpan(named(spans, CLIENT_SPAN), server);

      List<Call> calls = receiver.calls();
      assertTrue(!calls.isEmpty(), "no call recorded");
      for (Call call : calls) {
        assertEquals(GrpcOtlpReceiver.TRACE_EXPORT, call.method());
        assertEquals(Status.Code.OK, call.status());
        assertEquals(List.of("application/grpc"), call.metadata().get("content-type"), "metadata: " + call.metadata());
        assertEquals(List.of("secret"), call.metadata().get("x-api-key"), "metadata: " + call.metadata());
        assertEquals(List.of("Bearer t0ken"), call.metadata().get("authorization"), "metadata: " + call.metadata());
        assertEquals(List.of("gzip"), call.metadata().get("grpc-encoding"), "metadata: " + call.metadata());
      }
      assertEquals(2, pipeline.exportedSpans());
      assertEquals(0, pipeline.failedSpans());
    }
  }

  @Test
  void histogramsArriveOverGrpcWithTheMetricsSignalsOwnSettings() throws Exception {
    try (GrpcOtlpReceiver receiver = GrpcOtlpReceiver.start()) {
      // The metrics signal's own keys only; the general protocol says http/protobuf and must not win.
      MetricExporter exporter = new OtlpTelemetryExporter().createMetricExporter(config(Map.of(
          "otel.exporter.otlp.protocol", "http/protobuf",
          "otel.exporter.otlp.metrics.protocol", "grpc",
          "otel.exporter.otlp.metrics.endpoint", receiver.endpoint(),
          "otel.exporter.otlp.metrics.headers", "x-tenant=shop")));
      MetricPipeline pipeline = metricPipeline(exporter);
      TelemetrySink sink = pipeline.sinkFor(resource(), span -> { });
      sink.histogram(DURATION, 0.003, OK);
      sink.histogram(DURATION, 0.030, OK);
      receiver.awaitHistogramPoints(p -> p.stream().anyMatch(x -> x.count() == 2), AWAIT);
      sink.histogram(DURATION, 0.004, OK); // cumulative: a later export carries 3
      receiver.awaitHistogramPoints(p -> p.stream().anyMatch(x -> x.count() == 3), AWAIT);
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());

      Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(receiver.histogramPoints());
      assertEquals(1, latest.size(), "one series: " + latest.keySet());
      assertDurationPoint(latest.values().iterator().next(), OK_DECODED, List.of(2L, 0L, 0L, 1L, 0L), 3, 0.037);

      for (Call call : receiver.calls()) {
        assertEquals(GrpcOtlpReceiver.METRICS_EXPORT, call.method());
        assertEquals(Status.Code.OK, call.status());
        assertEquals(List.of("shop"), call.metadata().get("x-tenant"), "metadata: " + call.metadata());
      }
      assertEquals(0, pipeline.failedExports());
    }
  }

  @Test
  void unavailableIsRetriedAndTheSpanDeliveredOnce() throws Exception {
    try (GrpcOtlpReceiver receiver = GrpcOtlpReceiver.start()) {
      receiver.failNextCalls(2, Status.UNAVAILABLE.withDescription("collector restarting"));
      SpanExporter exporter = new OtlpTelemetryExporter().createSpanExporter(config(Map.of(
          "otel.exporter.otlp.traces.endpoint", receiver.endpoint(),
          "otel.exporter.otlp.traces.protocol", "grpc")));
      TelemetryPipeline pipeline = spanPipeline(exporter);
      pipeline.sinkFor(Resource.empty()).span(ProbeSpan.builder("retried", "io.goscope.test").build());

      assertEquals("retried", receiver.awaitSpans(1, AWAIT).get(0).name());
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      assertEquals(1, receiver.spans().size(), "delivered once: " + receiver.spans());
      assertEquals(List.of(Status.Code.UNAVAILABLE, Status.Code.UNAVAILABLE, Status.Code.OK), statuses(receiver));
      assertEquals(1, pipeline.exportedSpans());
      assertEquals(0, pipeline.failedSpans());
    }
  }

  @Test
  void aPermanentErrorFailsTheExportWithoutRetryAndTheNextOneSucceeds() throws Exception {
    try (GrpcOtlpReceiver receiver = GrpcOtlpReceiver.start()) {
      receiver.failNextCalls(1, Status.INVALID_ARGUMENT.withDescription("rejected by policy"));
      SpanExporter exporter = new OtlpTelemetryExporter().createSpanExporter(config(Map.of(
          "otel.exporter.otlp.endpoint", receiver.endpoint(),
          "otel.exporter.otlp.protocol", "grpc")));
      TelemetryPipeline pipeline = spanPipeline(exporter);
      TelemetrySink sink = pipeline.sinkFor(Resource.empty());
      sink.span(ProbeSpan.builder("rejected", "io.goscope.test").build());
      await(() -> pipeline.failedSpans() == 1, "the rejected export to be counted as failed");
      sink.span(ProbeSpan.builder("accepted", "io.goscope.test").build());

      assertEquals("accepted", receiver.awaitSpans(1, AWAIT).get(0).name());
      assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
      assertEquals(1, receiver.spans().size(), receiver.spans().toString());
      assertEquals(List.of(Status.Code.INVALID_ARGUMENT, Status.Code.OK), statuses(receiver));
      assertEquals(1, pipeline.exportedSpans());
      assertEquals(1, pipeline.failedSpans());
    }
  }

  @Test
  void aReceiverThatIsDownHoldsTheSpansAndThePipelinesDeliverThemWhenItIsBack() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // closed again: nothing listens there until the receiver starts below
    }
    Map<String, String> settings = Map.of(
        "otel.exporter.otlp.endpoint", "http://127.0.0.1:" + port,
        "otel.exporter.otlp.protocol", "grpc",
        // Bounds each export, retries included: the outage fails within it. Not much shorter: the first call to the
        // receiver, once it is back, loads grpc-java's and OkHttp's HTTP/2 classes (over 500 ms seen on 2 busy cores).
        "otel.exporter.otlp.timeout", "3000");
    List<Throwable> uncaught = Collections.synchronizedList(new ArrayList<>());
    Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
    try {
      OtlpTelemetryExporter otlp = new OtlpTelemetryExporter();
      TelemetryPipeline spans = TelemetryPipeline.builder().addExporter(otlp.createSpanExporter(config(settings)))
          .clock(KernelClock.fixedOffset(0)).scheduleDelay(Duration.ofMillis(20))
          .exporterTimeout(Duration.ofSeconds(5)).retryBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
          .build();
      MetricPipeline metrics = MetricPipeline.builder().addExporter(otlp.createMetricExporter(config(settings)))
          .exportInterval(Duration.ofMillis(100)).exportTimeout(Duration.ofSeconds(5)).build();
      Resource resource = resource();
      TelemetrySink sink = metrics.sinkFor(resource, spans.sinkFor(resource));

      sink.span(ProbeSpan.builder("during the outage", "io.goscope.test").build()); // offering never throws
      sink.histogram(DURATION, 0.003, Attributes.empty());
      await(() -> !spans.exportsByOutcome().isEmpty() && metrics.failedExports() > 0, "both exports to fail");
      assertEquals(0, spans.exportedSpans());
      assertEquals(0, spans.failedSpans(), "unavailable is retryable: the batch is held, not failed");
      assertEquals(1, spans.queuedSpans(), "the held span counts as queued");
      assertTrue(spans.exportsByOutcome().keySet().stream().allMatch(TelemetryPipeline::retryable),
          spans.exportsByOutcome().toString());

      try (GrpcOtlpReceiver receiver = GrpcOtlpReceiver.start(port)) {
        sink.span(ProbeSpan.builder("after the outage", "io.goscope.test").build());
        sink.histogram(DURATION, 0.004, Attributes.empty());
        List<ReceivedSpan> received = receiver.awaitSpans(2, AWAIT);
        assertEquals(Set.of("during the outage", "after the outage"),
            received.stream().map(ReceivedSpan::name).collect(Collectors.toSet()), "the held span is delivered");
        receiver.awaitHistogramPoints(p -> p.stream().anyMatch(x -> x.count() == 2), AWAIT); // cumulative
        assertTrue(spans.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
        assertTrue(metrics.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
        assertEquals(2, receiver.spans().size(), receiver.spans().toString());
      }
      assertEquals(2, spans.exportedSpans());
      assertEquals(0, spans.failedSpans());
      assertEquals(0, spans.droppedSpans());
      assertEquals(List.of(), uncaught, "exceptions that escaped to a thread's top");
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(previous);
    }
  }

  private static List<Status.Code> statuses(GrpcOtlpReceiver receiver) {
    return receiver.calls().stream().map(Call::status).toList();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + AWAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + AWAIT + " waiting for " + what);
      }
      Thread.sleep(10);
    }
  }
}
