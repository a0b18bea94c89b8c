package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.PrometheusParser;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent as users run it, watched through what it says about itself: {@code /readyz} and {@code /healthz} pass,
 * {@code /metrics} parses (text and strict OpenMetrics) and its counters equal what the test did, the same
 * self-metrics reach the OTLP backend, the {@code prometheus} exporter plugin serves the request-duration histograms
 * for scraping, every log line is a JSON object with {@code GOSCOPE_LOG_FORMAT=json}, and SIGTERM flushes and says
 * how many spans went out and how many were dropped.
 */
class AdminEndpointE2ETest {
  private static final int REQUESTS = 200;

  @TempDir Path work;

  @Test
  void healthMetricsPrometheusJsonLogsAndGracefulStop() throws Exception {
    BpfAssumptions.assumeBpf();
    Path binary = GoBuilder.build(NetHttpServerE2ETest.demoSource(), work.resolve("admin-server"), List.of(),
        Map.of("CGO_ENABLED", "0"));
    int promPort = GoServer.freePort();
    try (OtlpReceiver receiver = OtlpReceiver.start(); GoServer server = GoServer.start(binary, List.of())) {
      Map<String, String> env = new HashMap<>(AgentProcess.exportingTo(receiver, "admin-server"));
      env.put("OTEL_METRICS_EXPORTER", "otlp,prometheus");
      env.put("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1");
      env.put("OTEL_EXPORTER_PROMETHEUS_PORT", Integer.toString(promPort));
      env.put("GOSCOPE_LOG_FORMAT", "json");
      try (AgentProcess agent = AgentProcess.start(env)) {
        String attached = agent.awaitLine(l -> l.contains("process instrumented pid=" + server.launcherPid() + " "),
            Duration.ofSeconds(60));
        agent.awaitLine(l -> l.contains("agent started"), Duration.ofSeconds(30));
        Map.Entry<Integer, String> ready = agent.admin("/readyz");
        assertEquals(200, ready.getKey(), ready.getValue());
        Map.Entry<Integer, String> live = agent.admin("/healthz");
        assertEquals(200, live.getKey(), live.getValue());
        assertTrue(live.getValue().contains("[+] ringbuf-reader: ok"), live.getValue());

        for (int i = 0; i < REQUESTS; i++) {
          assertEquals(200, server.get("/hello/admin-" + i));
        }
        receiver.awaitSpans(REQUESTS, Duration.ofSeconds(30));
        PrometheusParser.Parsed m = awaitMetric(agent, "goscope_spans_exported_total{}", REQUESTS);
        assertEquals(REQUESTS, m.value("goscope_spans_exported_total{}"));
        assertEquals(1, m.value("goscope_processes_instrumented{}"));
        assertEquals(REQUESTS, m.value("goscope_records_total{probe_set=nethttp}"), "one record per request");
        Matcher uprobes = Pattern.compile("uprobes=\\{nethttp=(\\d+)}").matcher(attached);
        assertTrue(uprobes.find(), attached);
        assertEquals(Integer.parseInt(uprobes.group(1)), m.value("goscope_probes_attached{probe_set=nethttp}"));
        assertEquals(0, m.value("goscope_spans_dropped_total{reason=queue_full}"));
        assertEquals(0, m.value("goscope_records_lost_total{reason=malformed}"));
        assertEquals(0, m.value("goscope_ringbuf_reserve_failures_total{}"));
        assertTrue(m.value("goscope_analysis_seconds_count{}") >= 1);
        assertTrue(m.value("goscope_exports_total{outcome=success,signal=traces}") >= 1);
        PrometheusParser.openMetrics(httpGet("http://127.0.0.1:" + agent.adminPort() + "/metrics",
            "application/openmetrics-text; version=1.0.0"));

        // The prometheus exporter plugin: the histograms of the traced process, for scraping.
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        double scraped;
        do {
          Thread.sleep(500);
          PrometheusParser.Parsed prom = PrometheusParser.text(httpGet("http://127.0.0.1:" + promPort + "/metrics",
              null));
          scraped = prom.samples().entrySet().stream()
              .filter(e -> e.getKey().startsWith("http_server_request_duration_seconds_count{")
                  && e.getKey().contains("process_pid=" + server.launcherPid()))
              .mapToDouble(Map.Entry::getValue).sum();
        } while (scraped < REQUESTS && System.nanoTime() < deadline);
        assertEquals(REQUESTS, scraped, "the scraped histogram counts every request");

        // The same self-metrics over OTLP (the receiver keeps histogram points): the agent's own resource.
        receiver.awaitHistogramPoints(points -> points.stream().anyMatch(p -> p.name().equals(
            "goscope_analysis_seconds") && "goscope-agent".equals(p.resourceAttributes().get("service.name"))),
            Duration.ofSeconds(20));

        int before = agent.lineCount();
        assertEquals(0, agent.terminate(Duration.ofSeconds(30)));
        String flushed = agent.output().subList(before, agent.lineCount()).stream()
            .filter(l -> l.contains("export queues flushed")).findFirst()
            .orElseThrow(() -> new AssertionError("no flush line after SIGTERM: " + agent.output()));
        assertTrue(flushed.contains("spansDropped=0"), flushed);
        assertTrue(flushed.contains("spansExportedTotal=" + REQUESTS), flushed);
        for (String line : agent.output()) {
          assertTrue(line.startsWith("{\"time\":\"") && line.endsWith("}") && line.contains("\"level\":"),
              "every log line is a JSON object: " + line);
        }
      }
    }
  }

  private static PrometheusParser.Parsed awaitMetric(AgentProcess agent, String key, double value)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    PrometheusParser.Parsed m;
    do {
      m = PrometheusParser.text(agent.admin("/metrics").getValue());
      if (m.samples().getOrDefault(key, -1.0) >= value) {
        return m;
      }
      Thread.sleep(200);
    } while (System.nanoTime() < deadline);
    return m;
  }

  static String httpGet(String url, String accept) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (accept != null) {
      b.header("Accept", accept);
    }
    HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), url + ": " + r.body());
    return r.body();
  }
}
