package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.PrometheusParser;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OTLP backend goes away while a traced Go server serves about 1 000 requests/s, then comes back. With a queue
 * that holds the outage, every span produced during it arrives, once; with a small queue, the spans missing are
 * exactly the agent's queue-overflow counter on {@code /metrics}, and nothing else is lost.
 */
class BackendOutageE2ETest {
  @TempDir static Path work;
  private static Path binary;

  @BeforeAll
  static void build() {
    BpfAssumptions.assumeBpf();
    binary = GoBuilder.build(NetHttpServerE2ETest.demoSource(), work.resolve("outage-server"), List.of(),
        Map.of("CGO_ENABLED", "0"));
  }

  private static Map<String, String> env(OtlpReceiver receiver, int queueSize) {
    Map<String, String> env = new HashMap<>(AgentProcess.exportingTo(receiver, "outage-server"));
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_BSP_MAX_QUEUE_SIZE", Integer.toString(queueSize));
    env.put("OTEL_EXPORTER_OTLP_TIMEOUT", "3000"); // the sender's retries per export; the pipeline holds beyond
    return env;
  }

  /** Spans received whose path starts with {@code /hello/<prefix>-}, each exactly once (else it fails). */
  private static Set<String> received(OtlpReceiver receiver, String prefix) {
    return OtlpReceiver.uniqueBy(receiver.spans(), "url.path").keySet().stream()
        .filter(p -> p.startsWith("/hello/" + prefix + "-")).collect(Collectors.toSet());
  }

  private static void awaitCount(OtlpReceiver receiver, String prefix, int n, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (received(receiver, prefix).size() < n && System.nanoTime() < deadline) {
      Thread.sleep(250);
    }
  }

  @Test
  void aQueueThatHoldsTheOutageLosesNothing() throws Exception {
    OtlpReceiver receiver = OtlpReceiver.start();
    int port = receiver.port();
    try (GoServer server = GoServer.start(binary, List.of());
        AgentProcess agent = AgentProcess.start(env(receiver, 100_000))) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + server.launcherPid() + " "),
          Duration.ofSeconds(60));
      LoadGenerator.Result warm = LoadGenerator.run(server.port(), "warm", 100, Duration.ofSeconds(1));
      awaitCount(receiver, "warm", warm.paths().size(), Duration.ofSeconds(20));
      assertEquals(warm.paths().size(), received(receiver, "warm").size(), "before the outage");

      receiver.close(); // the backend is gone: connections are refused
      LoadGenerator.Result outage = LoadGenerator.run(server.port(), "out", 1000, Duration.ofSeconds(60));
      assertEquals(outage.paths().size(), outage.ok(), "the traced server served every request");
      System.out.printf("outage: %d requests in %.1f s (%.0f/s) while the backend was down%n", outage.paths().size(),
          outage.seconds(), outage.perSecond());
      PrometheusParser.Parsed during = PrometheusParser.text(agent.admin("/metrics").getValue());
      double queued = during.value("goscope_span_queue_size{}");
      assertTrue(queued >= outage.paths().size() * 0.9, "the outage's spans wait in the queue: " + queued);

      try (OtlpReceiver back = OtlpReceiver.start(port)) {
        long t0 = System.nanoTime();
        awaitCount(back, "out", outage.paths().size(), Duration.ofSeconds(180));
        Set<String> got = received(back, "out");
        System.out.printf("outage: %d of %d spans arrived %.1f s after the backend came back%n", got.size(),
            outage.paths().size(), (System.nanoTime() - t0) / 1e9);
        assertEquals(Set.copyOf(outage.paths()), got, "every span of the outage arrives once");
        PrometheusParser.Parsed after = PrometheusParser.text(agent.admin("/metrics").getValue());
        assertEquals(0, after.value("goscope_spans_dropped_total{reason=queue_full}"));
        assertEquals(0, after.samples().entrySet().stream()
            .filter(e -> e.getKey().startsWith("goscope_spans_export_failed_total")).mapToDouble(Map.Entry::getValue)
            .sum());
        // Refused connections, retried by the sender until its timeout: each failed export is counted, by reason.
        assertTrue(after.samples().entrySet().stream().filter(e -> e.getKey().startsWith("goscope_exports_total{")
            && e.getKey().contains("signal=traces") && !e.getKey().contains("outcome=success"))
            .mapToDouble(Map.Entry::getValue).sum() >= 1, after.samples().toString());
        assertEquals(warm.paths().size() + outage.paths().size(), after.value("goscope_spans_exported_total{}"));
        assertEquals(0, agent.terminate(Duration.ofSeconds(30)));
      }
    } finally {
      receiver.close();
    }
  }

  @Test
  void withASmallQueueTheOverflowCounterIsExactlyWhatIsMissing() throws Exception {
    OtlpReceiver receiver = OtlpReceiver.start();
    int port = receiver.port();
    try (GoServer server = GoServer.start(binary, List.of());
        AgentProcess agent = AgentProcess.start(env(receiver, 2000))) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + server.launcherPid() + " "),
          Duration.ofSeconds(60));
      LoadGenerator.Result warm = LoadGenerator.run(server.port(), "warm", 100, Duration.ofSeconds(1));
      awaitCount(receiver, "warm", warm.paths().size(), Duration.ofSeconds(20));

      receiver.close();
      LoadGenerator.Result outage = LoadGenerator.run(server.port(), "small", 1000, Duration.ofSeconds(10));
      assertEquals(outage.paths().size(), outage.ok());
      try (OtlpReceiver back = OtlpReceiver.start(port)) {
        // Everything the queue held arrives; then nothing more is pending.
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        PrometheusParser.Parsed m;
        do {
          Thread.sleep(500);
          m = PrometheusParser.text(agent.admin("/metrics").getValue());
        } while ((m.value("goscope_span_queue_size{}") > 0
            || m.value("goscope_spans_exported_total{}") < warm.paths().size() + 1) && System.nanoTime() < deadline);
        Thread.sleep(1000);
        m = PrometheusParser.text(agent.admin("/metrics").getValue());
        int got = received(back, "small").size();
        long missing = outage.paths().size() - got;
        double overflow = m.value("goscope_spans_dropped_total{reason=queue_full}");
        System.out.printf("small queue: %d requests, %d spans arrived, %d missing, overflow counter %.0f%n",
            outage.paths().size(), got, missing, overflow);
        assertTrue(missing > 0, "a 2000-span queue cannot hold " + outage.paths().size() + " spans");
        assertEquals(missing, (long) overflow, "the overflow counter equals the spans missing");
        assertEquals(0, m.value("goscope_records_lost_total{reason=unknown_process}"));
        assertEquals(0, m.value("goscope_records_lost_total{reason=malformed}"));
        assertEquals(0, m.value("goscope_ringbuf_reserve_failures_total{}"));
        assertEquals(0, m.samples().entrySet().stream()
            .filter(e -> e.getKey().startsWith("goscope_spans_export_failed_total")).mapToDouble(Map.Entry::getValue)
            .sum());
        assertEquals(0, agent.terminate(Duration.ofSeconds(30)));
      }
    } finally {
      receiver.close();
    }
  }
}
