package io.goscope.platform.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.PrometheusParser;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AdminServerTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<String> get(AdminServer server, String path, String accept) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path))
        .timeout(Duration.ofSeconds(10));
    if (accept != null) {
      b.header("Accept", accept);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static AdminServer start(Health health, SelfMetrics metrics) {
    return AdminServer.start(new InetSocketAddress("127.0.0.1", 0), health, metrics);
  }

  @Test
  void metricsParseAsPrometheusTextAndStrictOpenMetricsWithTheRegisteredValues() throws Exception {
    SelfMetrics m = new SelfMetrics();
    AtomicLong exported = new AtomicLong(12345);
    m.counter(SelfMetrics.SPANS_EXPORTED, "Spans every exporter accepted.", exported::get);
    m.counterFamily(SelfMetrics.SPANS_DROPPED, "Spans dropped, by reason.", List.of("reason"),
        () -> Map.of(List.of("queue_full"), 7L, List.of("shutdown"), 0L));
    m.counter(SelfMetrics.EXPORTS, "Exports.", Map.of("signal", "traces", "outcome", "http_400"), () -> 2);
    m.gauge(SelfMetrics.SPAN_QUEUE_SIZE, "Queued \"spans\"\nnow.", () -> 42);
    m.info(SelfMetrics.BUILD_INFO, "Build.", Map.of("version", "0.1.0", "java_version", "17"));
    SelfHistogram h = m.histogram(SelfMetrics.EXEC_TO_ATTACHED_SECONDS, "Latency.", SelfMetrics.LATENCY_BUCKETS);
    h.record(0.004);
    h.record(0.2);
    h.record(99);
    try (AdminServer server = start(new Health(), m)) {
      HttpResponse<String> text = get(server, "/metrics", null);
      assertEquals(200, text.statusCode());
      assertEquals(PrometheusText.TEXT_CONTENT_TYPE, text.headers().firstValue("Content-Type").orElse(""));
      PrometheusParser.Parsed p = PrometheusParser.text(text.body());
      assertEquals(12345, p.value("goscope_spans_exported_total{}"));
      assertEquals(7, p.value("goscope_spans_dropped_total{reason=queue_full}"));
      assertEquals(0, p.value("goscope_spans_dropped_total{reason=shutdown}"));
      assertEquals(2, p.value("goscope_exports_total{outcome=http_400,signal=traces}"));
      assertEquals(42, p.value("goscope_span_queue_size{}"));
      assertEquals(1, p.value("goscope_build_info{java_version=17,version=0.1.0}"));
      assertEquals(3, p.value("goscope_exec_to_attached_seconds_count{}"));
      assertEquals(1, p.value("goscope_exec_to_attached_seconds_bucket{le=0.005}"));
      assertEquals(2, p.value("goscope_exec_to_attached_seconds_bucket{le=0.25}"));
      assertEquals(3, p.value("goscope_exec_to_attached_seconds_bucket{le=+Inf}"));
      assertEquals(99.204, p.value("goscope_exec_to_attached_seconds_sum{}"), 1e-9);
      assertEquals("counter", p.families().get("goscope_spans_exported"));
      assertEquals("histogram", p.families().get("goscope_exec_to_attached_seconds"));

      exported.set(12346); // suppliers are read per scrape
      HttpResponse<String> om = get(server, "/metrics", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5");
      assertEquals(PrometheusText.OPENMETRICS_CONTENT_TYPE, om.headers().firstValue("Content-Type").orElse(""));
      PrometheusParser.Parsed o = PrometheusParser.openMetrics(om.body());
      assertEquals(12346, o.value("goscope_spans_exported_total{}"));
      assertEquals(7, o.value("goscope_spans_dropped_total{reason=queue_full}"));
      assertEquals(1, o.value("goscope_build_info{java_version=17,version=0.1.0}"));
      assertEquals("info", o.families().get("goscope_build"));
      assertEquals(3, o.value("goscope_exec_to_attached_seconds_count{}"));

      assertEquals(405, HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort()
          + "/metrics")).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode());
    }
  }

  @Test
  void reRegisteringASeriesRePointsIt() {
    SelfMetrics m = new SelfMetrics();
    m.counter(SelfMetrics.RINGBUF_RESERVE_FAILURES, "Drops.", () -> 1);
    m.counter(SelfMetrics.RINGBUF_RESERVE_FAILURES, "Drops.", () -> 5);
    PrometheusParser.Parsed p = PrometheusParser.text(PrometheusText.write(m.collect(), false));
    assertEquals(5, p.value("goscope_ringbuf_reserve_failures_total{}"));
    assertThrows(IllegalArgumentException.class, () -> m.gauge(SelfMetrics.RINGBUF_RESERVE_FAILURES, "x", () -> 1));
    assertThrows(IllegalArgumentException.class, () -> m.counter("goscope_x_total", "x", () -> 1));
  }

  @Test
  void healthzTurnsUnhealthyWhenALoopStopsBeating() throws Exception {
    Health health = new Health();
    Heartbeat beat = new Heartbeat("ring buffer reader", Duration.ofMillis(300));
    AtomicBoolean run = new AtomicBoolean(true);
    Thread loop = new Thread(() -> {
      while (run.get()) {
        beat.beat();
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    loop.start();
    health.liveness("ringbuf-reader", beat);
    health.liveness("other", Optional::empty);
    try (AdminServer server = start(health, new SelfMetrics())) {
      HttpResponse<String> ok = get(server, "/healthz", null);
      assertEquals(200, ok.statusCode(), ok.body());
      assertTrue(ok.body().contains("[+] ringbuf-reader: ok"), ok.body());
      run.set(false);
      loop.join();
      Thread.sleep(600);
      HttpResponse<String> stuck = get(server, "/healthz", null);
      assertEquals(503, stuck.statusCode(), stuck.body());
      assertTrue(stuck.body().contains("[-] ringbuf-reader: ring buffer reader stuck: no progress for"), stuck.body());
      assertTrue(stuck.body().contains("[+] other: ok"), stuck.body());
    }
  }

  @Test
  void readyzIsNotReadyUntilItsChecksPass() throws Exception {
    Health health = new Health();
    AtomicBoolean loaded = new AtomicBoolean();
    health.readiness("plugins", () -> loaded.get() ? Optional.empty() : Optional.of("plugins not loaded yet"));
    try (AdminServer server = start(health, new SelfMetrics())) {
      HttpResponse<String> before = get(server, "/readyz", null);
      assertEquals(503, before.statusCode());
      assertTrue(before.body().contains("[-] plugins: plugins not loaded yet"), before.body());
      loaded.set(true);
      assertEquals(200, get(server, "/readyz", null).statusCode());
    }
  }

  @Test
  void adminAddresses() {
    assertEquals(Optional.empty(), AdminServer.parseAddress("off"));
    assertEquals(Optional.empty(), AdminServer.parseAddress(" none "));
    assertEquals(6060, AdminServer.parseAddress(null).orElseThrow().getPort());
    assertTrue(AdminServer.parseAddress(null).orElseThrow().getAddress().isAnyLocalAddress());
    InetSocketAddress local = AdminServer.parseAddress("127.0.0.1:9000").orElseThrow();
    assertEquals("127.0.0.1", local.getHostString());
    assertEquals(9000, local.getPort());
    assertEquals(7, AdminServer.parseAddress("[::1]:7").orElseThrow().getPort());
    assertThrows(IllegalArgumentException.class, () -> AdminServer.parseAddress("6060"));
    assertThrows(IllegalArgumentException.class, () -> AdminServer.parseAddress(":x"));
  }

  @Test
  void selfMetricsAsOtlpData() {
    SelfMetrics m = new SelfMetrics();
    m.counter(SelfMetrics.SPANS_EXPORTED, "Spans.", () -> 3);
    m.gauge(SelfMetrics.SPAN_QUEUE_SIZE, "Queue.", () -> 4);
    m.histogram(SelfMetrics.ANALYSIS_SECONDS, "Analysis.", SelfMetrics.LATENCY_BUCKETS).record(0.02);
    Map<String, io.opentelemetry.sdk.metrics.data.MetricData> byName = new LinkedHashMap<>();
    new SelfMetricsData(m, io.opentelemetry.sdk.resources.Resource.empty()).get()
        .forEach(d -> byName.put(d.getName(), d));
    assertEquals(3, byName.get("goscope_spans_exported").getLongSumData().getPoints().iterator().next().getValue());
    assertTrue(byName.get("goscope_spans_exported").getLongSumData().isMonotonic());
    assertEquals(4.0, byName.get("goscope_span_queue_size").getDoubleGaugeData().getPoints().iterator().next()
        .getValue());
    assertEquals(1, byName.get("goscope_analysis_seconds").getHistogramData().getPoints().iterator().next()
        .getCount());
    assertEquals(SelfMetricsData.SCOPE, byName.get("goscope_spans_exported").getInstrumentationScopeInfo().getName());
    assertFalse(byName.containsKey("goscope_build_info"));
  }
}
