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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backend that takes 2 s per request: the traced server's throughput does not depend on it (the ring-buffer
 * reader never waits for export), the agent's heap stays bounded by its queue, and the queue depth shows on
 * {@code /metrics}; what overflows is counted.
 */
class SlowBackendE2ETest {
  @TempDir Path work;

  /** Requests per second from 4 clients in a closed loop for {@code seconds}. */
  private static double throughput(GoServer server, String prefix, int seconds) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    AtomicLong done = new AtomicLong();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Future<?>> workers = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int worker = w;
      workers.add(pool.submit(() -> {
        for (int i = 0; System.nanoTime() < end; i++) {
          HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
              + "/hello/" + prefix + worker + "-" + i)).build(), HttpResponse.BodyHandlers.discarding());
          assertEquals(200, r.statusCode());
          done.incrementAndGet();
        }
        return null;
      }));
    }
    for (Future<?> f : workers) {
      f.get(seconds + 60L, TimeUnit.SECONDS);
    }
    pool.shutdown();
    return done.get() / (double) seconds;
  }

  @Test
  void aSlowBackendSlowsNeitherTheAppNorGrowsTheHeap() throws Exception {
    BpfAssumptions.assumeBpf();
    Path binary = GoBuilder.build(NetHttpServerE2ETest.demoSource(), work.resolve("slow-server"), List.of(),
        Map.of("CGO_ENABLED", "0"));
    try (OtlpReceiver receiver = OtlpReceiver.start(); GoServer server = GoServer.start(binary, List.of())) {
      Map<String, String> env = new HashMap<>(AgentProcess.exportingTo(receiver, "slow-server"));
      env.put("OTEL_METRICS_EXPORTER", "none");
      try (AgentProcess agent = AgentProcess.start(env)) {
        agent.awaitLine(l -> l.contains("process instrumented pid=" + server.launcherPid() + " "),
            Duration.ofSeconds(60));
        throughput(server, "warm", 2);
        double fast = throughput(server, "fast", 8);

        receiver.setDelay(Duration.ofSeconds(2));
        double[] maxQueue = {0};
        Thread sampler = new Thread(() -> {
          try {
            while (!Thread.currentThread().isInterrupted()) {
              double q = PrometheusParser.text(agent.admin("/metrics").getValue()).value("goscope_span_queue_size{}");
              maxQueue[0] = Math.max(maxQueue[0], q);
              Thread.sleep(500);
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
        sampler.start();
        double slow = throughput(server, "slow", 8);
        sampler.interrupt();
        sampler.join();
        long heap = agent.heapUsedAfterGc();
        PrometheusParser.Parsed m = PrometheusParser.text(agent.admin("/metrics").getValue());
        System.out.printf("slow backend: %.0f req/s with a fast backend, %.0f req/s with a 2 s backend (ratio %.2f); "
                + "max queue %.0f of %.0f; dropped %.0f; heap after GC %.1f MB%n", fast, slow, slow / fast,
            maxQueue[0], m.value("goscope_span_queue_capacity{}"),
            m.value("goscope_spans_dropped_total{reason=queue_full}"), heap / 1048576.0);
        // On this shared 2-core VM request rates move by +-10-15 % between runs of the same thing.
        assertTrue(slow >= 0.75 * fast, "throughput with a slow backend " + slow + " vs " + fast);
        assertTrue(maxQueue[0] > 0, "the queue depth shows on /metrics while the backend is slow");
        assertTrue(heap < 96L << 20, "heap bounded by the queue: " + heap / 1048576 + " MB");
        assertEquals(0, agent.terminate(Duration.ofSeconds(30)));
      }
    }
  }
}
