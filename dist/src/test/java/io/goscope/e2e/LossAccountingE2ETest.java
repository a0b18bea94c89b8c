package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing is lost silently: with a one-page ring buffer that is never drained, the kernel-side drop counters of
 * the probe objects account for the records that did not fit, and the traced server is unharmed; a call whose
 * return finds no call in flight (here: a request already running when the process was selected; in production
 * also an entry evicted from a full in-flight map) is counted, on the stats line and on {@code /metrics}.
 */
class LossAccountingE2ETest {
  private static final Pattern STATS = Pattern.compile(
      "stats instrumented=1 .*?records=(\\d+) ringBufferDrops=(\\d+) ringBufferDropsBySource=\\{.*?nethttp=(\\d+)");

  @TempDir Path work;

  @Test
  void fullRingBufferDropsAreCounted() throws Exception {
    BpfAssumptions.assumeBpf();
    Path binary = work.resolve("loss-server");
    GoBuilder.build(NetHttpServerE2ETest.demoSource(), binary, List.of(), Map.of("CGO_ENABLED", "0"));
    try (GoServer server = GoServer.start(binary, List.of());
        AgentProcess agent = AgentProcess.start(Map.of(
            "GO_APPS", "loss-server",
            "GOSCOPE_RING_BUFFER_BYTES", "4096",
            "GOSCOPE_DRAIN_INTERVAL", "1h",
            "GOSCOPE_STATS_INTERVAL", "1s",
            "OTEL_TRACES_EXPORTER", "none",
            "OTEL_METRICS_EXPORTER", "none"))) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + server.launcherPid() + " "), Duration.ofSeconds(30));
      int requests = 200;
      for (int i = 0; i < requests; i++) {
        assertEquals(200, server.get("/hello/" + i));
      }
      int from = agent.lineCount();
      String line = agent.awaitLineAfter(from, l -> {
        Matcher m = STATS.matcher(l);
        return m.find() && Long.parseLong(m.group(2)) > 0;
      }, Duration.ofSeconds(15));
      Matcher m = STATS.matcher(line);
      assertTrue(m.find(), line);
      long drops = Long.parseLong(m.group(3));
      // A 4 KiB ring holds at most eight 488-byte records; everything else must be counted as dropped, by the probe
      // set that lost it (the total also counts the node's exec/exit events, which fill the same ring).
      assertTrue(drops >= requests - 10 && drops <= requests, "nethttp drops=" + drops + " in " + line);
      assertTrue(Long.parseLong(m.group(2)) >= drops, line);
      assertEquals("0", m.group(1), "nothing was drained: " + line);
      assertTrue(server.isAlive(), "the traced server is unharmed");
      assertEquals(0, agent.terminate(Duration.ofSeconds(20)));
    }
  }

  @Test
  void aReturnWithNoCallInFlightIsCountedByProbeSet() throws Exception {
    BpfAssumptions.assumeBpf();
    Path binary = work.resolve("unmatched-server");
    GoBuilder.build(NetHttpServerE2ETest.demoSource(), binary, List.of(), Map.of("CGO_ENABLED", "0"));
    try (GoServer server = GoServer.start(binary, List.of())) {
      // A request that is still running when the agent selects the process: its entry was never seen.
      CompletableFuture<HttpResponse<Void>> held = HttpClient.newHttpClient().sendAsync(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/sleep/12000"))
              .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.discarding());
      try (AgentProcess agent = AgentProcess.start(Map.of(
          "GO_APPS", "unmatched-server",
          "GOSCOPE_STATS_INTERVAL", "1s",
          "OTEL_TRACES_EXPORTER", "none",
          "OTEL_METRICS_EXPORTER", "none"))) {
        agent.awaitLine(l -> l.contains("process instrumented pid=" + server.launcherPid() + " "),
            Duration.ofSeconds(30));
        assertTrue(!held.isDone(), "the held request ended before the process was instrumented: test too slow");
        for (int i = 0; i < 20; i++) {
          assertEquals(200, server.get("/hello/" + i)); // matched: not counted
        }
        assertEquals(200, held.get().statusCode());
        int from = agent.lineCount();
        String line = agent.awaitLineAfter(from, l -> l.contains("unmatchedReturns={nethttp=1}"),
            Duration.ofSeconds(15));
        assertTrue(line.contains("stats instrumented=1 "), line);
        String metrics = agent.admin("/metrics").getValue();
        assertTrue(metrics.contains("goscope_calls_unmatched_total{probe_set=\"nethttp\"} 1"), metrics);
        assertTrue(server.isAlive(), "the traced server is unharmed");
      }
    }
  }
}
