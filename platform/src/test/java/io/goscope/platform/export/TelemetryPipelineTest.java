package io.goscope.platform.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class TelemetryPipelineTest {
  private static final long OFFSET = 1_700_000_000_000_000_000L;
  private static final Resource RESOURCE =
      Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "checkout"));

  private static ProbeSpan span(String name) {
    return ProbeSpan.builder(name, "io.goscope.test").timestamps(1_000, 3_000).build();
  }

  @Test
  void convertsProbeSpanToSpanData() {
    RecordingExporter exporter = new RecordingExporter();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    TelemetrySink sink = pipeline.sinkFor(RESOURCE);
    String traceId = "0af7651916cd43dd8448eb211c80319c";
    sink.span(ProbeSpan.builder("GET /users/{id}", "io.goscope.nethttp")
        .kind(SpanKind.SERVER)
        .timestamps(5_000_000_000L, 5_012_500_000L)
        .traceId(traceId)
        .spanId("b7ad6b7169203331")
        .parentSpanId("00f067aa0ba902b7")
        .attributes(Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
            AttributeKey.longKey("http.response.status_code"), 500L))
        .status(StatusCode.ERROR, "boom")
        .build());
    sink.span(span("no-ids"));
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());

    List<SpanData> spans = exporter.spans();
    assertEquals(2, spans.size());
    SpanData s = spans.get(0);
    assertEquals("GET /users/{id}", s.getName());
    assertEquals(SpanKind.SERVER, s.getKind());
    assertEquals(traceId, s.getTraceId());
    assertEquals("b7ad6b7169203331", s.getSpanId());
    assertEquals("00f067aa0ba902b7", s.getParentSpanId());
    assertTrue(s.getSpanContext().isSampled());
    assertEquals(OFFSET + 5_000_000_000L, s.getStartEpochNanos());
    assertEquals(OFFSET + 5_012_500_000L, s.getEndEpochNanos());
    assertEquals(StatusCode.ERROR, s.getStatus().getStatusCode());
    assertEquals("boom", s.getStatus().getDescription());
    assertEquals(500L, s.getAttributes().get(AttributeKey.longKey("http.response.status_code")));
    assertEquals("io.goscope.nethttp", s.getInstrumentationScopeInfo().getName());
    assertSame(RESOURCE, s.getResource());
    assertTrue(s.hasEnded());

    SpanData generated = spans.get(1);
    assertTrue(TraceId.isValid(generated.getTraceId()));
    assertNotEquals(TraceId.getInvalid(), generated.getTraceId());
    assertNotEquals(SpanId.getInvalid(), generated.getSpanId());
    assertFalse(generated.getParentSpanContext().isValid());
    assertEquals(StatusCode.UNSET, generated.getStatus().getStatusCode());
  }

  @Test
  void aSpansSchemaUrlGoesToItsScope() {
    RecordingExporter exporter = new RecordingExporter();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    TelemetrySink sink = pipeline.sinkFor(RESOURCE);
    sink.span(ProbeSpan.builder("p.S/M", "io.goscope.grpc").schemaUrl("https://opentelemetry.io/schemas/1.44.0")
        .timestamps(1_000, 2_000).build());
    sink.span(span("none"));
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
    List<SpanData> spans = exporter.spans();
    assertEquals("io.goscope.grpc", spans.get(0).getInstrumentationScopeInfo().getName());
    assertEquals("https://opentelemetry.io/schemas/1.44.0",
        spans.get(0).getInstrumentationScopeInfo().getSchemaUrl());
    assertEquals(null, spans.get(1).getInstrumentationScopeInfo().getSchemaUrl(), "none given, none set");
  }

  @Test
  void fullQueueDropsAndCountsWithoutBlockingTheProducer() throws Exception {
    RecordingExporter exporter = new RecordingExporter();
    exporter.gate = new CountDownLatch(1); // the exporter hangs until released
    int queueSize = 1000;
    int batchSize = 100;
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(0)).maxQueueSize(queueSize).maxExportBatchSize(batchSize)
        .scheduleDelay(Duration.ofMillis(5)).build();
    TelemetrySink sink = pipeline.sinkFor(RESOURCE);
    ProbeSpan s = span("burst");
    // Let the worker take a first batch and get stuck in the exporter.
    for (int i = 0; i < batchSize; i++) {
      sink.span(s);
    }
    await(() -> pipeline.queuedSpans() == 0, Duration.ofSeconds(5));

    int burst = 100_000;
    long t0 = System.nanoTime();
    for (int i = 0; i < burst; i++) {
      sink.span(s);
    }
    long elapsedNanos = System.nanoTime() - t0;
    System.out.printf("burst of %d offers took %.2f ms (%.0f ns/offer), dropped=%d%n", burst,
        elapsedNanos / 1e6, (double) elapsedNanos / burst, pipeline.droppedSpans());
    assertEquals(queueSize, pipeline.queuedSpans());
    assertEquals(burst - queueSize, pipeline.droppedSpans());
    assertTrue(elapsedNanos < TimeUnit.SECONDS.toNanos(2), "producer took " + elapsedNanos / 1e6 + " ms");

    exporter.gate.countDown();
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
    assertEquals(batchSize + queueSize, pipeline.exportedSpans());
    assertEquals(batchSize + queueSize, exporter.spans().size());
    assertTrue(exporter.batchSizes().stream().allMatch(n -> n <= batchSize), exporter.batchSizes().toString());
    sink.span(s);
    assertEquals(burst - queueSize + 1, pipeline.droppedSpans(), "spans after shutdown are dropped");
  }

  @Test
  void fullBatchIsExportedWithoutWaitingForTheScheduleDelay() throws Exception {
    RecordingExporter exporter = new RecordingExporter();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(0)).maxExportBatchSize(64).scheduleDelay(Duration.ofMinutes(5)).build();
    TelemetrySink sink = pipeline.sinkFor(RESOURCE);
    for (int i = 0; i < 64; i++) {
      sink.span(span("s" + i));
    }
    await(() -> exporter.spans().size() == 64, Duration.ofSeconds(5));
    assertEquals(List.of(64), exporter.batchSizes());
    pipeline.close();
  }

  @Test
  void partialBatchIsExportedAfterTheScheduleDelay() throws Exception {
    RecordingExporter exporter = new RecordingExporter();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(0)).scheduleDelay(Duration.ofMillis(50)).build();
    pipeline.sinkFor(RESOURCE).span(span("lonely"));
    await(() -> exporter.spans().size() == 1, Duration.ofSeconds(5));
    assertEquals(1, pipeline.exportedSpans());
    pipeline.close();
  }

  @Test
  void failuresAndTimeoutsAreCounted() throws Exception {
    RecordingExporter failing = new RecordingExporter();
    failing.fail = true;
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(failing)
        .clock(KernelClock.fixedOffset(0)).build();
    pipeline.sinkFor(RESOURCE).span(span("a"));
    pipeline.sinkFor(RESOURCE).span(span("b"));
    assertFalse(pipeline.forceFlush().join(10, TimeUnit.SECONDS).isSuccess());
    assertEquals(2, pipeline.failedSpans());
    assertEquals(0, pipeline.exportedSpans());
    pipeline.close();

    RecordingExporter hanging = new RecordingExporter();
    hanging.neverComplete = true;
    // A timeout is retryable: with no retry window the batch fails at once, counted as a timeout.
    TelemetryPipeline slow = TelemetryPipeline.builder().addExporter(hanging)
        .clock(KernelClock.fixedOffset(0)).exporterTimeout(Duration.ofMillis(100)).retryMaxElapsed(Duration.ZERO)
        .build();
    slow.sinkFor(RESOURCE).span(span("c"));
    long t0 = System.nanoTime();
    CompletableResultCode flush = slow.forceFlush().join(10, TimeUnit.SECONDS);
    assertTrue(flush.isDone());
    assertFalse(flush.isSuccess());
    assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
    assertEquals(1, slow.failedSpans());
    assertEquals(java.util.Map.of("timeout", 1L), slow.failedSpansByReason());
    slow.close();
    assertEquals(java.util.Map.of("exporter", 2L), pipeline.failedSpansByReason());
  }

  @Test
  void bspVariablesConfigureThePipeline() throws Exception {
    RecordingExporter exporter = new RecordingExporter();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter).clock(KernelClock.fixedOffset(0))
        .config(io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties.createFromMap(java.util.Map.of(
            "otel.bsp.schedule.delay", "60000",
            "otel.bsp.max.queue.size", "7",
            "otel.bsp.max.export.batch.size", "3",
            "otel.bsp.export.timeout", "2s")))
        .build();
    assertEquals(7, pipeline.maxQueueSize());
    CountDownLatch gate = new CountDownLatch(1);
    exporter.gate = gate; // the first export blocks the worker with one batch in hand
    TelemetrySink sink = pipeline.sinkFor(RESOURCE);
    for (int i = 0; i < 20; i++) {
      sink.span(span("s" + i));
    }
    long dropped = pipeline.droppedSpansByReason().get(TelemetryPipeline.DROP_QUEUE_FULL);
    assertTrue(dropped >= 20 - 7 - 3, "at most a batch of 3 in hand and 7 queued: dropped=" + dropped);
    gate.countDown();
    assertTrue(pipeline.forceFlush().join(5, TimeUnit.SECONDS).isSuccess());
    assertEquals(20, exporter.spans().size() + dropped);
    assertTrue(exporter.batchSizes().stream().allMatch(n -> n <= 3), exporter.batchSizes().toString());
    pipeline.close();
  }

  @Test
  void anOutageLosesOnlyWhatOverflowsTheQueueAndThatIsCounted() throws Exception {
    RecordingExporter exporter = new RecordingExporter();
    exporter.failWith = new java.net.ConnectException("Connection refused");
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter).clock(KernelClock.fixedOffset(0))
        .maxQueueSize(50).maxExportBatchSize(10).scheduleDelay(Duration.ofMillis(10))
        .retryBackoff(Duration.ofMillis(20), Duration.ofMillis(50)).build();
    TelemetrySink sink = pipeline.sinkFor(RESOURCE);
    int offered = 200;
    for (int i = 0; i < offered; i++) {
      sink.span(span("o" + i));
      if (i % 20 == 0) {
        Thread.sleep(30); // let the worker take a batch and hold it
      }
    }
    await(() -> pipeline.exportsByOutcome().getOrDefault("connection_refused", 0L) >= 3, Duration.ofSeconds(5));
    assertEquals(0, pipeline.failedSpans(), "a refused connection is retried, not failed");
    exporter.failWith = null; // the backend is back
    assertTrue(pipeline.forceFlush().join(5, TimeUnit.SECONDS).isSuccess());
    long dropped = pipeline.droppedSpansByReason().get(TelemetryPipeline.DROP_QUEUE_FULL);
    List<String> names = exporter.spans().stream().map(SpanData::getName).toList();
    assertEquals(names.size(), new java.util.HashSet<>(names).size(), "no span exported twice");
    assertEquals(offered, names.size() + dropped, "exported + overflow = offered; dropped=" + dropped);
    assertTrue(dropped > 0 && dropped < offered, "dropped=" + dropped);
    assertEquals(pipeline.exportedSpans(), names.size());
    assertEquals(0, pipeline.queuedSpans());
    pipeline.close();
  }

  @Test
  void aBatchHeldTooLongFailsWithItsReason() throws Exception {
    RecordingExporter exporter = new RecordingExporter();
    exporter.failWith = new java.net.ConnectException("Connection refused");
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter).clock(KernelClock.fixedOffset(0))
        .scheduleDelay(Duration.ofMillis(10)).retryBackoff(Duration.ofMillis(20), Duration.ofMillis(20))
        .retryMaxElapsed(Duration.ofMillis(200)).build();
    pipeline.sinkFor(RESOURCE).span(span("late"));
    await(() -> pipeline.failedSpans() == 1, Duration.ofSeconds(5));
    assertEquals(java.util.Map.of("connection_refused", 1L), pipeline.failedSpansByReason());
    assertTrue(pipeline.exportsByOutcome().get("connection_refused") >= 3, pipeline.exportsByOutcome().toString());
    assertEquals(0, pipeline.queuedSpans());
    pipeline.close();
  }

  @Test
  void shutdownWithTheBackendDownDropsWhatIsLeftAndCountsIt() throws Exception {
    RecordingExporter exporter = new RecordingExporter();
    exporter.failWith = new java.net.ConnectException("Connection refused");
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter).clock(KernelClock.fixedOffset(0))
        .maxExportBatchSize(5).scheduleDelay(Duration.ofMillis(10)).build();
    TelemetrySink sink = pipeline.sinkFor(RESOURCE);
    for (int i = 0; i < 23; i++) {
      sink.span(span("d" + i));
    }
    await(() -> pipeline.exportsByOutcome().getOrDefault("connection_refused", 0L) >= 1, Duration.ofSeconds(5));
    pipeline.shutdown().join(5, TimeUnit.SECONDS);
    sink.span(span("after"));
    assertEquals(24, pipeline.droppedSpansByReason().get(TelemetryPipeline.DROP_SHUTDOWN));
    assertEquals(0, pipeline.failedSpans());
    assertEquals(0, pipeline.exportedSpans());
  }

  @Test
  void fansOutToEveryExporterAndShutdownIsIdempotent() {
    RecordingExporter a = new RecordingExporter();
    RecordingExporter b = new RecordingExporter();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().exporters(List.of(a, b))
        .clock(KernelClock.fixedOffset(0)).build();
    pipeline.sinkFor(RESOURCE).span(span("x"));
    CompletableResultCode first = pipeline.shutdown();
    assertSame(first, pipeline.shutdown());
    assertTrue(first.join(10, TimeUnit.SECONDS).isSuccess());
    pipeline.close();
    assertEquals(1, a.spans().size());
    assertEquals(1, b.spans().size());
    assertEquals(1, a.shutdowns.get());
    assertEquals(1, b.shutdowns.get());
    assertEquals(1, pipeline.exportedSpans());
  }

  @Test
  void oneFailingExporterMarksTheBatchFailedButOthersStillReceiveIt() {
    RecordingExporter ok = new RecordingExporter();
    RecordingExporter bad = new RecordingExporter();
    bad.fail = true;
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(ok).addExporter(bad)
        .clock(KernelClock.fixedOffset(0)).build();
    pipeline.sinkFor(RESOURCE).span(span("y"));
    pipeline.shutdown().join(10, TimeUnit.SECONDS);
    assertEquals(1, ok.spans().size());
    assertEquals(1, pipeline.failedSpans());
  }

  static void await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeout);
      }
      Thread.sleep(2);
    }
  }
}
