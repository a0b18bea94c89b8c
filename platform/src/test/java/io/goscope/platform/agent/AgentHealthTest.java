package io.goscope.platform.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.PrometheusParser;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real agent in this JVM (real BPF ring buffer, no probe sets): {@code /readyz} is not ready before the plugins
 * are loaded, both endpoints pass once it runs, {@code /metrics} parses and carries the agent's counters, and
 * {@code /healthz} turns unhealthy, naming the reader, when the ring-buffer reader's thread is stopped.
 */
class AgentHealthTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path plugins;

  private static HttpResponse<String> get(InetSocketAddress admin, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.getPort() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readinessLivenessAndMetricsOfARunningAgent() throws Exception {
    BpfAssumptions.assumeBpf();
    AgentConfig config = AgentConfig.fromEnvironment(Map.of(
        "goscope.plugins.dir", plugins.toString(),
        "goscope.admin.addr", "127.0.0.1:0",
        "host.proc", "/proc",
        "otel.traces.exporter", "none",
        "otel.metrics.exporter", "none"));
    try (Agent agent = Agent.create(config, List.of())) {
      InetSocketAddress admin = agent.startAdmin().orElseThrow();
      HttpResponse<String> early = get(admin, "/readyz");
      assertEquals(503, early.statusCode(), early.body());
      assertTrue(early.body().contains("[-] plugins: plugins not loaded yet"), early.body());

      agent.start();
      HttpResponse<String> ready = get(admin, "/readyz");
      assertEquals(200, ready.statusCode(), ready.body());
      HttpResponse<String> live = get(admin, "/healthz");
      assertEquals(200, live.statusCode(), live.body());
      assertTrue(live.body().contains("[+] ringbuf-reader: ok"), live.body());

      PrometheusParser.Parsed m = PrometheusParser.text(get(admin, "/metrics").body());
      assertEquals(0, m.value("goscope_processes_instrumented{}"));
      assertEquals(0, m.value("goscope_spans_dropped_total{reason=queue_full}"));
      assertEquals(0, m.value("goscope_records_lost_total{reason=malformed}"));
      assertEquals(8192, m.value("goscope_span_queue_capacity{}"));
      assertEquals(1, m.value("goscope_build_info{java_version=" + System.getProperty("java.version")
          + ",version=" + Agent.VERSION + "}"));

      agent.stopDrainThreadForTest();
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      HttpResponse<String> stuck;
      do {
        Thread.sleep(250);
        stuck = get(admin, "/healthz");
      } while (stuck.statusCode() == 200 && System.nanoTime() < deadline);
      assertEquals(503, stuck.statusCode(), stuck.body());
      assertTrue(stuck.body().contains("[-] ringbuf-reader: ring buffer reader stuck"), stuck.body());
      assertTrue(stuck.body().contains("[+] discovery: ok"), stuck.body());
    }
  }
}
