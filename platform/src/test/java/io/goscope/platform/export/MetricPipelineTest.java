package io.goscope.platform.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.MetricDataType;
import io.opentelemetry.sdk.resources.Resource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MetricPipelineTest {
  private static final HistogramInstrument DURATION = new HistogramInstrument("http.server.request.duration", "s",
      "Duration of HTTP server requests.", List.of(0.005, 0.01, 0.025, 0.05, 0.1, 1.0), "io.goscope.nethttp");
  private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
  private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  private static final Resource APP_A = Resource.create(Attributes.of(
      AttributeKey.stringKey("service.name"), "a", AttributeKey.longKey("process.pid"), 1L));
  private static final Resource APP_B = Resource.create(Attributes.of(
      AttributeKey.stringKey("service.name"), "b", AttributeKey.longKey("process.pid"), 2L));
  private static final TelemetrySink NO_SPANS = span -> { };

  private final RecordingMetricExporter exporter = new RecordingMetricExporter();

  private MetricPipeline pipeline(int maxSeries) {
    // A long interval: tests collect with forceFlush, deterministically.
    return MetricPipeline.builder().addExporter(exporter).exportInterval(Duration.ofHours(1)).maxSeries(maxSeries)
        .build();
  }

  private static Attributes attrs(String method, long status) {
    return Attributes.of(METHOD, method, STATUS, status);
  }

  private List<MetricData> flush(MetricPipeline p) {
    assertTrue(p.forceFlush().join(10, TimeUnit.SECONDS).isSuccess(), "flush");
    List<List<MetricData>> exports = exporter.exports();
    return exports.get(exports.size() - 1);
  }

  private static HistogramPointData point(List<MetricData> metrics, Resource resource, Attributes attributes) {
    for (MetricData m : metrics) {
      if (m.getResource().equals(resource)) {
        for (HistogramPointData p : m.getHistogramData().getPoints()) {
          if (p.getAttributes().equals(attributes)) {
            return p;
          }
        }
      }
    }
    throw new AssertionError("no point for " + resource + " " + attributes + " in " + metrics);
  }

  @Test
  void anInstrumentsSchemaUrlGoesToItsScope() {
    HistogramInstrument rpc = new HistogramInstrument("rpc.server.call.duration", "s", "", List.of(0.005, 1.0),
        "io.goscope.grpc", "https://opentelemetry.io/schemas/1.44.0");
    try (MetricPipeline p = pipeline(100)) {
      TelemetrySink sink = p.sinkFor(APP_A, NO_SPANS);
      sink.histogram(rpc, 0.001, Attributes.empty());
      sink.histogram(DURATION, 0.001, Attributes.empty());
      List<MetricData> metrics = flush(p);
      MetricData grpc = metrics.stream().filter(m -> m.getName().equals("rpc.server.call.duration")).findFirst()
          .orElseThrow();
      assertEquals("https://opentelemetry.io/schemas/1.44.0", grpc.getInstrumentationScopeInfo().getSchemaUrl());
      MetricData http = metrics.stream().filter(m -> m.getName().equals("http.server.request.duration")).findFirst()
          .orElseThrow();
      assertEquals(null, http.getInstrumentationScopeInfo().getSchemaUrl());
      assertEquals("", DURATION.schemaUrl(), "the five-argument constructor names no schema URL");
    }
  }

  @Test
  void bucketsCountSumMinMaxWithUpperInclusiveBounds() {
    try (MetricPipeline p = pipeline(100)) {
      TelemetrySink sink = p.sinkFor(APP_A, NO_SPANS);
      Attributes ok = attrs("GET", 200);
      for (double v : new double[] {0.001, 0.005, 0.0051, 0.02, 0.3, 1.0, 7.0}) {
        sink.histogram(DURATION, v, ok);
      }
      List<MetricData> metrics = flush(p);
      assertEquals(1, metrics.size());
      MetricData m = metrics.get(0);
      assertEquals(MetricDataType.HISTOGRAM, m.getType());
      assertEquals("http.server.request.duration", m.getName());
      assertEquals("s", m.getUnit());
      assertEquals("Duration of HTTP server requests.", m.getDescription());
      assertEquals("io.goscope.nethttp", m.getInstrumentationScopeInfo().getName());
      assertSame(APP_A, m.getResource());
      assertEquals(AggregationTemporality.CUMULATIVE, m.getHistogramData().getAggregationTemporality());
      HistogramPointData pt = point(metrics, APP_A, ok);
      assertEquals(DURATION.boundaries(), pt.getBoundaries());
      // (..0.005] (..0.01] (..0.025] (..0.05] (..0.1] (..1] (1..)
      assertEquals(List.of(2L, 1L, 1L, 0L, 0L, 2L, 1L), pt.getCounts());
      assertEquals(7, pt.getCount());
      assertEquals(0.001 + 0.005 + 0.0051 + 0.02 + 0.3 + 1.0 + 7.0, pt.getSum(), 1e-12);
      assertTrue(pt.hasMin() && pt.hasMax());
      assertEquals(0.001, pt.getMin());
      assertEquals(7.0, pt.getMax());
      assertTrue(pt.getStartEpochNanos() > 0 && pt.getStartEpochNanos() <= pt.getEpochNanos());
    }
  }

  @Test
  void seriesPerResourceAndAttributesAndCumulativeAcrossExports() {
    try (MetricPipeline p = pipeline(100)) {
      TelemetrySink a = p.sinkFor(APP_A, NO_SPANS);
      TelemetrySink b = p.sinkFor(APP_B, NO_SPANS);
      a.histogram(DURATION, 0.002, attrs("GET", 200));
      a.histogram(DURATION, 0.002, attrs("GET", 500));
      b.histogram(DURATION, 0.002, attrs("GET", 200));
      List<MetricData> first = flush(p);
      assertEquals(2, first.size(), "one metric per process");
      assertEquals(3, p.seriesCount());
      HistogramPointData before = point(first, APP_A, attrs("GET", 200));
      assertEquals(1, before.getCount());

      a.histogram(DURATION, 0.5, attrs("GET", 200));
      List<MetricData> second = flush(p);
      HistogramPointData after = point(second, APP_A, attrs("GET", 200));
      assertEquals(2, after.getCount(), "cumulative");
      assertEquals(0.502, after.getSum(), 1e-12);
      assertEquals(before.getStartEpochNanos(), after.getStartEpochNanos(), "same start time");
      assertTrue(after.getEpochNanos() >= before.getEpochNanos());
      assertEquals(1, point(second, APP_B, attrs("GET", 200)).getCount(), "unchanged series still exported");
      assertEquals(6, p.exportedPoints());
    }
  }

  @Test
  void seriesBeyondTheBoundAreDroppedAndCounted() {
    try (MetricPipeline p = pipeline(2)) {
      TelemetrySink sink = p.sinkFor(APP_A, NO_SPANS);
      sink.histogram(DURATION, 0.01, attrs("GET", 200));
      sink.histogram(DURATION, 0.01, attrs("GET", 404));
      sink.histogram(DURATION, 0.01, attrs("GET", 500)); // third series: dropped
      sink.histogram(DURATION, 0.01, attrs("GET", 500));
      sink.histogram(DURATION, 0.01, attrs("GET", 200)); // existing series: kept
      assertEquals(2, p.seriesCount());
      assertEquals(2, p.droppedMeasurements());
      List<MetricData> metrics = flush(p);
      assertEquals(2, metrics.get(0).getHistogramData().getPoints().size());
      assertEquals(2, point(metrics, APP_A, attrs("GET", 200)).getCount());
    }
  }

  @Test
  void invalidValuesAreDroppedAndCounted() {
    try (MetricPipeline p = pipeline(10)) {
      TelemetrySink sink = p.sinkFor(APP_A, NO_SPANS);
      sink.histogram(DURATION, Double.NaN, attrs("GET", 200));
      sink.histogram(DURATION, Double.POSITIVE_INFINITY, attrs("GET", 200));
      sink.histogram(DURATION, -1, attrs("GET", 200));
      sink.histogram(null, 1, attrs("GET", 200));
      assertEquals(4, p.droppedMeasurements());
      assertEquals(0, p.seriesCount());
    }
  }

  @Test
  void retiredProcessIsExportedOnceMoreThenFreed() {
    try (MetricPipeline p = pipeline(100)) {
      TelemetrySink a = p.sinkFor(APP_A, NO_SPANS);
      p.sinkFor(APP_B, NO_SPANS).histogram(DURATION, 0.01, attrs("GET", 200));
      a.histogram(DURATION, 0.01, attrs("GET", 200));
      p.retire(APP_A);
      List<MetricData> last = flush(p);
      assertEquals(1, point(last, APP_A, attrs("GET", 200)).getCount(), "exported one last time");
      assertEquals(1, p.seriesCount(), "then freed");
      List<MetricData> next = flush(p);
      assertEquals(1, next.size());
      assertSame(APP_B, next.get(0).getResource());
      a.histogram(DURATION, 0.01, attrs("GET", 200)); // late record into a freed process
      assertEquals(1, p.droppedMeasurements());
      assertEquals(1, p.seriesCount());
    }
  }

  @Test
  void reRegisteringRevivesARetiredProcess() {
    try (MetricPipeline p = pipeline(100)) {
      p.sinkFor(APP_A, NO_SPANS).histogram(DURATION, 0.01, attrs("GET", 200));
      p.retire(APP_A);
      TelemetrySink again = p.sinkFor(APP_A, NO_SPANS); // e.g. resource updated back
      again.histogram(DURATION, 0.01, attrs("GET", 200));
      flush(p);
      assertEquals(2, point(flush(p), APP_A, attrs("GET", 200)).getCount(), "kept, cumulative");
    }
  }

  @Test
  void spansPassThroughAndNoExporterMeansNoAggregation() {
    List<ProbeSpan> spans = new ArrayList<>();
    TelemetrySink spanSink = spans::add;
    try (MetricPipeline p = pipeline(10)) {
      p.sinkFor(APP_A, spanSink).span(ProbeSpan.builder("GET", "io.goscope.nethttp").build());
      assertEquals(1, spans.size());
    }
    try (MetricPipeline none = MetricPipeline.builder().build()) {
      assertSame(spanSink, none.sinkFor(APP_A, spanSink));
    }
  }

  @Test
  void recordingNeverBlocksWhileAnExportHangs() throws Exception {
    RecordingMetricExporter hanging = new RecordingMetricExporter();
    hanging.neverComplete = true;
    try (MetricPipeline p = MetricPipeline.builder().addExporter(hanging).exportInterval(Duration.ofMillis(10))
        .exportTimeout(Duration.ofMillis(200)).build()) {
      TelemetrySink sink = p.sinkFor(APP_A, NO_SPANS);
      long t0 = System.nanoTime();
      for (int i = 0; i < 200_000; i++) {
        sink.histogram(DURATION, (i % 1000) / 1000.0, attrs(i % 2 == 0 ? "GET" : "POST", 200));
      }
      long millis = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(millis < 5_000, "200k measurements took " + millis + " ms");
      assertEquals(0, p.droppedMeasurements());
      Thread.sleep(300);
      assertTrue(p.failedExports() >= 1, "a timed-out export counts as failed");
    }
  }

  @Test
  void concurrentRecordingLosesNothing() throws Exception {
    try (MetricPipeline p = pipeline(10)) {
      TelemetrySink sink = p.sinkFor(APP_A, NO_SPANS);
      Thread[] threads = new Thread[4];
      for (int t = 0; t < threads.length; t++) {
        threads[t] = new Thread(() -> {
          for (int i = 0; i < 50_000; i++) {
            sink.histogram(DURATION, 0.02, attrs("GET", 200));
          }
        });
        threads[t].start();
      }
      for (Thread t : threads) {
        t.join();
      }
      HistogramPointData pt = point(flush(p), APP_A, attrs("GET", 200));
      assertEquals(200_000, pt.getCount());
      assertEquals(200_000, pt.getCounts().get(2));
      assertEquals(0.02 * 200_000, pt.getSum(), 1e-6);
    }
  }

  @Test
  void shutdownExportsAFinalCollectionAndIsIdempotent() {
    MetricPipeline p = pipeline(10);
    p.sinkFor(APP_A, NO_SPANS).histogram(DURATION, 0.01, attrs("GET", 200));
    assertTrue(p.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
    assertSame(p.shutdown(), p.shutdown());
    assertEquals(1, exporter.exports().size(), "final collection exported");
    assertEquals(1, exporter.shutdowns.get());
    p.sinkFor(APP_A, NO_SPANS).histogram(DURATION, 0.01, attrs("GET", 200));
    assertEquals(1, p.droppedMeasurements(), "after shutdown");
  }

  @Test
  void periodicExportAtTheConfiguredInterval() throws Exception {
    try (MetricPipeline p = MetricPipeline.builder().addExporter(exporter)
        .config(DefaultConfigProperties.createFromMap(Map.of("otel.metric.export.interval", "50")))
        .build()) {
      p.sinkFor(APP_A, NO_SPANS).histogram(DURATION, 0.01, attrs("GET", 200));
      List<List<MetricData>> exports = exporter.awaitExports(2, 5_000);
      assertEquals(1, point(exports.get(1), APP_A, attrs("GET", 200)).getCount());
    }
  }

  @Test
  void failingExporterIsCounted() {
    try (MetricPipeline p = pipeline(10)) {
      p.sinkFor(APP_A, NO_SPANS).histogram(DURATION, 0.01, attrs("GET", 200));
      exporter.fail = true;
      assertFalse(p.forceFlush().join(10, TimeUnit.SECONDS).isSuccess());
      assertEquals(1, p.failedExports());
      exporter.fail = false;
      assertTrue(p.forceFlush().join(10, TimeUnit.SECONDS).isSuccess());
      assertEquals(1, p.exportedPoints());
    }
  }
}
