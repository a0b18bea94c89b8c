package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The first vertical slice, as users run it: a Go net/http server built here, {@code bin/goscope agent} from the
 * distribution selecting it by GO_APPS, real uprobes, OTLP http/protobuf to a receiver in this test: one span per
 * request, and the {@code http.server.request.duration} histogram counting every request.
 */
class NetHttpServerE2ETest {
  private static final int CLIENTS = 8;
  private static final int REQUESTS_PER_CLIENT = 50;

  @TempDir static Path work;

  @BeforeAll
  static void requireBpf() {
    BpfAssumptions.assumeBpf();
  }

  static Path demoSource() {
    return Path.of(System.getProperty("goscope.root", "..")).resolve("dist/src/main/go/demo");
  }

  static Path build(String variant) throws Exception {
    List<String> flags = new ArrayList<>();
    Map<String, String> env = new HashMap<>();
    env.put("CGO_ENABLED", "0");
    switch (variant) {
      case "default" -> { }
      case "pie" -> flags.add("-buildmode=pie");
      case "stripped" -> flags.add("-ldflags=-s -w");
      case "stripped-pie" -> {
        flags.add("-buildmode=pie");
        flags.add("-ldflags=-s -w");
      }
      default -> throw new IllegalArgumentException(variant);
    }
    Path out = work.resolve("e2e-http-" + variant);
    GoBuilder.build(demoSource(), out, flags, env);
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"default", "pie", "stripped", "stripped-pie"})
  void oneServerSpanPerRequest(String variant) throws Exception {
    Path binary = build(variant);
    String exe = binary.getFileName().toString();
    try (OtlpReceiver receiver = OtlpReceiver.start();
        GoServer server = GoServer.start(binary, List.of());
        AgentProcess agent = AgentProcess.start(Map.of(
            "GO_APPS", exe,
            "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
            "OTEL_TRACES_EXPORTER", "otlp",
            "OTEL_METRICS_EXPORTER", "otlp",
            "OTEL_METRIC_EXPORT_INTERVAL", "1000",
            "OTEL_LOGS_EXPORTER", "none"))) {
      long pid = server.launcherPid();
      agent.awaitLine(l -> l.contains("process instrumented pid=" + pid + " "), Duration.ofSeconds(30));

      // 8 clients x 50 requests; every request has a unique path so spans can be matched one to one.
      String[] routes = {"hello", "missing", "fail", "slow"};
      int[] expected = {200, 404, 500, 200};
      Map<String, Integer> expectedStatus = new HashMap<>();
      Map<Long, Long> expectedPerStatus = new HashMap<>();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> futures = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
          int r = (client + i) % routes.length;
          expectedStatus.put("/" + routes[r] + "/c" + client + "-" + i, expected[r]);
          expectedPerStatus.merge((long) expected[r], 1L, Long::sum);
        }
        futures.add(pool.submit(() -> {
          for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
            int r = (client + i) % routes.length;
            int status = server.get("/" + routes[r] + "/c" + client + "-" + i);
            assertEquals(expected[r], status, "HTTP status of the server itself");
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
      pool.shutdown();
      int total = CLIENTS * REQUESTS_PER_CLIENT;

      List<ReceivedSpan> spans = receiver.awaitSpans(total, Duration.ofSeconds(30));
      Thread.sleep(1500); // anything extra (duplicates) would arrive by now
      spans = receiver.spans();
      assertEquals(total, spans.size(), "exactly one span per request");

      Map<String, ReceivedSpan> byPath = OtlpReceiver.uniqueBy(spans, "url.path");
      assertEquals(expectedStatus.keySet(), byPath.keySet(), "every request has its span");
      for (Map.Entry<String, Integer> e : expectedStatus.entrySet()) {
        ReceivedSpan s = byPath.get(e.getKey());
        String where = e.getKey() + " " + s;
        assertEquals("GET", s.name(), where);
        assertEquals("SERVER", s.kind(), where);
        assertEquals("GET", s.attributes().get("http.request.method"), where);
        assertEquals("http", s.attributes().get("url.scheme"), where);
        assertEquals((long) e.getValue(), s.attributes().get("http.response.status_code"), where);
        assertEquals((long) server.port(), s.attributes().get("server.port"), where);
        assertEquals("1.1", s.attributes().get("network.protocol.version"), where);
        assertEquals(e.getValue() >= 500 ? "ERROR" : "UNSET", s.status(), where);
        long durationNanos = s.endEpochNanos() - s.startEpochNanos();
        if (e.getKey().startsWith("/slow")) {
          assertTrue(durationNanos >= 20_000_000L && durationNanos < 1_000_000_000L, where + " took " + durationNanos);
        }
        assertTrue(Math.abs(s.startEpochNanos() / 1_000_000L - System.currentTimeMillis()) < 120_000,
            "start time is wall-clock: " + where);
        assertEquals(exe, s.resourceAttributes().get("service.name"), where);
        assertEquals(pid, s.resourceAttributes().get("process.pid"), where);
        assertEquals(exe, s.resourceAttributes().get("process.executable.name"), where);
        assertTrue(String.valueOf(s.resourceAttributes().get("process.runtime.version")).startsWith("go1."), where);
      }
      assertHistogram(receiver, exe, pid, expectedPerStatus);
      assertTrue(server.isAlive(), "traced process still alive");
      assertEquals(200, server.get("/hello/after"), "traced process still serves");

      assertEquals(0, agent.terminate(Duration.ofSeconds(20)), "agent exits cleanly on SIGTERM");
      assertTrue(server.isAlive(), "traced process survives the agent's exit");
      assertEquals(200, server.get("/hello/after-agent"), "and still serves");
    }
  }

  /**
   * The latest cumulative point of each series must count exactly the requests of its (method, status) combination;
   * /slow requests (20 ms sleep, status 200 like /hello) must land in buckets above 0.01 s.
   */
  private static void assertHistogram(OtlpReceiver receiver, String exe, long pid, Map<Long, Long> expectedPerStatus)
      throws InterruptedException {
    long total = expectedPerStatus.values().stream().mapToLong(Long::longValue).sum();
    List<ReceivedHistogramPoint> points = receiver.awaitHistogramPoints(
        all -> OtlpReceiver.latestPerSeries(durations(all)).values().stream()
            .mapToLong(ReceivedHistogramPoint::count).sum() >= total,
        Duration.ofSeconds(15));
    Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(durations(points));
    Map<Long, Long> countPerStatus = new HashMap<>();
    for (ReceivedHistogramPoint p : latest.values()) {
      String where = p.toString();
      assertEquals("CUMULATIVE", p.temporality(), where);
      assertEquals("s", p.unit(), where);
      assertEquals("io.goscope.nethttp", p.scope(), where);
      assertEquals(List.of(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
          p.explicitBounds(), where);
      assertEquals(exe, p.resourceAttributes().get("service.name"), where);
      assertEquals(pid, p.resourceAttributes().get("process.pid"), where);
      assertEquals("GET", p.attributes().get("http.request.method"), where);
      assertEquals("http", p.attributes().get("url.scheme"), where);
      assertEquals("1.1", p.attributes().get("network.protocol.version"), where);
      assertEquals(null, p.attributes().get("url.path"), "no high-cardinality attributes: " + where);
      long status = (Long) p.attributes().get("http.response.status_code");
      assertEquals(status >= 500 ? String.valueOf(status) : null, p.attributes().get("error.type"), where);
      countPerStatus.merge(status, p.count(), Long::sum);
    }
    assertEquals(expectedPerStatus, countPerStatus, "histogram count per (GET, status) = requests");
    // 200 is /hello (fast) and /slow (>= 20 ms): at least the /slow requests are above 0.01 s; sum agrees.
    ReceivedHistogramPoint ok = latest.values().stream()
        .filter(p -> Long.valueOf(200).equals(p.attributes().get("http.response.status_code"))).findFirst().get();
    long slow = expectedPerStatus.get(200L) / 2; // routes alternate hello, missing, fail, slow: half the 200s
    assertTrue(ok.countAtLeast(0.01) >= slow, "slow requests in buckets >= 0.02 s: " + ok);
    assertTrue(ok.sum() >= slow * 0.02, "sum covers the slow requests: " + ok);
  }

  private static List<ReceivedHistogramPoint> durations(List<ReceivedHistogramPoint> points) {
    return points.stream().filter(p -> p.name().equals("http.server.request.duration")).toList();
  }

  static boolean exists(Path p) {
    return Files.exists(p);
  }
}
