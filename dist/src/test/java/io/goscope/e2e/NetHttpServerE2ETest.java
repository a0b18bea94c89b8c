package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.gobinary.GoVersion;
import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.goscope.testing.TestBinaries;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The first vertical slice, as users run it, across Go toolchains: the demo net/http server built here, {@code
 * bin/goscope agent} from the distribution selecting it by GO_APPS, real uprobes, OTLP http/protobuf to a receiver
 * in this test: one span per request with exact attributes (the toolchain's Go version on the resource), and the
 * {@code http.server.request.duration} histogram counting every request.
 *
 * <p>One case per toolchain: Debian's golang-go on the PATH (Go 1.19; builds default, PIE, stripped and stripped
 * PIE) and each Debian toolchain in {@value TestBinaries#GO_TOOLCHAINS} (Go 1.21-1.23 from bookworm-backports, 1.24
 * from trixie; default and stripped, since PIE would rebuild the standard library once more), and the newest Go
 * release, {@value TestBinaries#NEWEST_GO}, fetched through the module proxy (default, stripped, PIE, -trimpath and
 * cgo: a release newer than any offset table entry written before it). A toolchain's builds
 * serve side by side under one agent. {@code goscope inspect --json} must take every field offset from DWARF, or
 * from Go's type metadata when the build is stripped. Without {@value TestBinaries#GO_TOOLCHAINS} those cases are
 * skipped, or fail under CI.
 */
class NetHttpServerE2ETest {
  private static final int CLIENTS = 8;
  private static final int REQUESTS_PER_CLIENT = 50;
  /** The demo server's routes and the status each answers (the h2 test server has the same). */
  static final String[] ROUTES = {"hello", "missing", "fail", "slow"};
  static final int[] ROUTE_STATUS = {200, 404, 500, 200};

  @TempDir static Path work;

  @BeforeAll
  static void requireBpf() {
    BpfAssumptions.assumeBpf();
  }

  /** One toolchain and the builds it is tested with; resolved in the test, so a bad GOROOT fails only its case. */
  record Toolchain(String name, Supplier<GoToolchain> resolve, List<String> variants) {
    @Override
    public String toString() {
      return name;
    }
  }

  static List<Toolchain> toolchains() {
    List<String> nonPie = List.of("default", "stripped");
    List<Toolchain> out = new ArrayList<>();
    out.add(new Toolchain("golang-go (PATH)", GoToolchain::installed,
        List.of("default", "pie", "stripped", "stripped-pie")));
    List<Path> roots = TestBinaries.goToolchainRoots();
    for (Path root : roots) {
      out.add(new Toolchain(root.getFileName().toString(), () -> GoToolchain.at(root), nonPie));
    }
    if (roots.isEmpty()) {
      out.add(new Toolchain(TestBinaries.GO_TOOLCHAINS + " (not set)", () -> {
        TestBinaries.requireGoToolchains(); // skips, or fails under CI
        throw new AssertionError("unreachable");
      }, nonPie));
    }
    // The newest release, fetched through the module proxy: every build mode the issue names.
    out.add(new Toolchain(TestBinaries.NEWEST_GO, () -> TestBinaries.goRelease(TestBinaries.NEWEST_GO),
        List.of("default", "stripped", "pie", "trimpath", "cgo")));
    return out;
  }

  static Path demoSource() {
    return Path.of(System.getProperty("goscope.root", "..")).resolve("dist/src/main/go/demo");
  }

  /**
   * The {@code go build} flags of a build variant: default, pie, stripped ({@code -s -w}), stripped-pie, trimpath,
   * or cgo (default flags, {@code CGO_ENABLED=1}: the cgo resolver, so the binary links libc).
   */
  static List<String> buildFlags(String variant) {
    return switch (variant) {
      case "default", "cgo" -> List.of();
      case "pie" -> List.of("-buildmode=pie");
      case "stripped" -> List.of("-ldflags=-s -w");
      case "stripped-pie" -> List.of("-buildmode=pie", "-ldflags=-s -w");
      case "trimpath" -> List.of("-trimpath");
      default -> throw new IllegalArgumentException(variant);
    };
  }

  static Path build(GoToolchain toolchain, String variant) {
    Path out = work.resolve("e2e-http-" + toolchain.version() + "-" + variant);
    return GoBuilder.build(toolchain, demoSource(), out, buildFlags(variant),
        Map.of("CGO_ENABLED", variant.equals("cgo") ? "1" : "0"));
  }

  /** A build of the demo server, serving under the agent. */
  private record Target(GoServer server, String exe) {
    long pid() {
      return server.launcherPid();
    }
  }

  /** One client's requests to a server, path to status, over the four routes in turn. */
  private static Map<String, Integer> requests(int client) {
    Map<String, Integer> paths = new LinkedHashMap<>();
    for (int i = 0; i < REQUESTS_PER_CLIENT; i++) {
      int r = (client + i) % ROUTES.length;
      paths.put("/" + ROUTES[r] + "/c" + client + "-" + i, ROUTE_STATUS[r]);
    }
    return paths;
  }

  /**
   * The requests every server gets, path to status: {@value #CLIENTS} clients x {@value #REQUESTS_PER_CLIENT};
   * every request has a unique path so spans can be matched one to one.
   */
  private static Map<String, Integer> requests() {
    Map<String, Integer> paths = new LinkedHashMap<>();
    for (int c = 0; c < CLIENTS; c++) {
      paths.putAll(requests(c));
    }
    return paths;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("toolchains")
  void oneServerSpanPerRequest(Toolchain matrix) throws Exception {
    GoToolchain toolchain = matrix.resolve().get();
    String goVersion = toolchain.version();
    List<Path> binaries = new ArrayList<>();
    for (String variant : matrix.variants()) {
      Path binary = build(toolchain, variant);
      assertOffsetsFrom(binary, goVersion, variant.startsWith("stripped") ? "TYPE_METADATA" : "DWARF");
      binaries.add(binary);
    }
    List<Target> targets = new ArrayList<>();
    try (OtlpReceiver receiver = OtlpReceiver.start()) {
      for (Path binary : binaries) {
        targets.add(new Target(GoServer.start(binary, List.of()), binary.getFileName().toString()));
      }
      try (AgentProcess agent = AgentProcess.start(AgentProcess.exportingTo(receiver,
          targets.stream().map(Target::exe).collect(Collectors.joining(","))))) {
        for (Target t : targets) {
          agent.awaitLine(l -> l.contains("process instrumented pid=" + t.pid() + " "), Duration.ofSeconds(30));
        }
        drive(targets);
        int total = targets.size() * CLIENTS * REQUESTS_PER_CLIENT;
        receiver.awaitSpans(total, Duration.ofSeconds(30));
        Thread.sleep(1500); // anything extra (duplicates) would arrive by now
        List<ReceivedSpan> spans = receiver.spans();
        assertEquals(total, spans.size(), "exactly one span per request");
        Map<Object, List<ReceivedSpan>> byPid =
            spans.stream().collect(Collectors.groupingBy(s -> s.resourceAttributes().get("process.pid")));
        for (Target t : targets) {
          assertSpans(t, byPid.getOrDefault(t.pid(), List.of()), goVersion);
          assertHistogram(receiver, t);
        }
        for (Target t : targets) {
          assertTrue(t.server().isAlive(), "traced process still alive: " + t.exe());
          assertEquals(200, t.server().get("/hello/after"), "traced process still serves: " + t.exe());
        }

        assertEquals(0, agent.terminate(Duration.ofSeconds(20)), "agent exits cleanly on SIGTERM");
        for (Target t : targets) {
          assertTrue(t.server().isAlive(), "traced process survives the agent's exit: " + t.exe());
          assertEquals(200, t.server().get("/hello/after-agent"), "and still serves: " + t.exe());
        }
      }
    } finally {
      for (Target t : targets) {
        t.server().close();
      }
    }
  }

  /** Sends every server its {@link #requests()}, {@value #CLIENTS} clients per server, all servers at once. */
  private static void drive(List<Target> targets) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CLIENTS * targets.size());
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (Target t : targets) {
        for (int c = 0; c < CLIENTS; c++) {
          Map<String, Integer> requests = requests(c);
          futures.add(pool.submit(() -> {
            for (Map.Entry<String, Integer> e : requests.entrySet()) {
              assertEquals(e.getValue(), t.server().get(e.getKey()), "HTTP status of " + t.exe() + " itself");
            }
            return null;
          }));
        }
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
  }

  /** The spans of one server's process: exactly one per request, with exact attributes. */
  private static void assertSpans(Target t, List<ReceivedSpan> spans, String goVersion) {
    Map<String, Integer> requests = requests();
    Map<String, ReceivedSpan> byPath = OtlpReceiver.uniqueBy(spans, "url.path");
    assertEquals(requests.keySet(), byPath.keySet(), "every request to " + t.exe() + " has its span");
    for (Map.Entry<String, Integer> e : requests.entrySet()) {
      ReceivedSpan s = byPath.get(e.getKey());
      String where = t.exe() + " " + e.getKey() + " " + s;
      assertEquals("GET", s.name(), where);
      assertEquals("SERVER", s.kind(), where);
      assertEquals("GET", s.attributes().get("http.request.method"), where);
      assertEquals("http", s.attributes().get("url.scheme"), where);
      assertEquals((long) e.getValue(), s.attributes().get("http.response.status_code"), where);
      assertEquals((long) t.server().port(), s.attributes().get("server.port"), where);
      assertEquals("1.1", s.attributes().get("network.protocol.version"), where);
      assertEquals(e.getValue() >= 500 ? "ERROR" : "UNSET", s.status(), where);
      long durationNanos = s.endEpochNanos() - s.startEpochNanos();
      if (e.getKey().startsWith("/slow")) {
        assertTrue(durationNanos >= 20_000_000L && durationNanos < 5_000_000_000L, where + " took " + durationNanos);
      } else {
        assertTrue(durationNanos > 0, where + " took " + durationNanos);
      }
      assertTrue(Math.abs(s.startEpochNanos() / 1_000_000L - System.currentTimeMillis()) < 120_000,
          "start time is wall-clock: " + where);
      assertEquals(t.exe(), s.resourceAttributes().get("service.name"), where);
      assertEquals(t.exe(), s.resourceAttributes().get("process.executable.name"), where);
      assertEquals(goVersion, s.resourceAttributes().get("process.runtime.version"), where);
    }
  }

  /**
   * {@code goscope inspect --json}: the toolchain's version, every field resolved and from {@code source}; from Go
   * 1.27 on, the bundled HTTP/2 server's {@code net/http.http2*} fields are gone (moved to
   * {@code net/http/internal/http2}) and must be reported missing, not guessed.
   */
  private static void assertOffsetsFrom(Path binary, String goVersion, String source) throws Exception {
    InspectReport report = InspectReport.of(binary);
    assertEquals(goVersion, report.goVersion(), "go version inspect reads from " + binary);
    Map<String, String> sources = report.fieldSources();
    assertFalse(sources.isEmpty(), "fields in:\n" + report);
    sources.forEach((field, from) -> {
      if (from.equals("MISSING") && otherReleasesOnly(field, goVersion)) {
        return; // another release's name of a field, or a field this release does not have
      }
      assertEquals(source, from, field + " of " + binary + " in:\n" + report);
    });
  }

  /**
   * Fields a probe set names for other Go releases: net/http's HTTP/2 types moved to net/http/internal/http2 in Go
   * 1.27 (the bundled net/http.http2* names before), and runtime.g gained parentGoid in Go 1.21.
   */
  static boolean otherReleasesOnly(String field, String goVersion) {
    int minor = Integer.parseInt(goVersion.replaceFirst("^go1\\.(\\d+).*$", "$1"));
    return (field.startsWith("net/http/internal/http2.") && minor < 27)
        || (field.startsWith("net/http.http2") && minor >= 27)
        || (field.equals("runtime.g.parentGoid") && minor < 21);
  }

  /**
   * The latest cumulative point of each of the server's series must count exactly the requests of its (method,
   * status) combination; /slow requests (20 ms sleep, status 200 like /hello) must land in buckets above 0.01 s.
   */
  private static void assertHistogram(OtlpReceiver receiver, Target t) throws InterruptedException {
    Map<Long, Long> expectedPerStatus = new HashMap<>();
    requests().values().forEach(status -> expectedPerStatus.merge((long) status, 1L, Long::sum));
    long total = CLIENTS * REQUESTS_PER_CLIENT;
    List<ReceivedHistogramPoint> points = receiver.awaitHistogramPoints(
        all -> OtlpReceiver.latestPerSeries(durations(all, t)).values().stream()
            .mapToLong(ReceivedHistogramPoint::count).sum() >= total,
        Duration.ofSeconds(15));
    Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(durations(points, t));
    Map<Long, Long> countPerStatus = new HashMap<>();
    for (ReceivedHistogramPoint p : latest.values()) {
      String where = p.toString();
      assertEquals("CUMULATIVE", p.temporality(), where);
      assertEquals("s", p.unit(), where);
      assertEquals("io.goscope.nethttp", p.scope(), where);
      assertEquals(List.of(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
          p.explicitBounds(), where);
      assertEquals(t.exe(), p.resourceAttributes().get("service.name"), where);
      assertEquals("GET", p.attributes().get("http.request.method"), where);
      assertEquals("http", p.attributes().get("url.scheme"), where);
      assertEquals("1.1", p.attributes().get("network.protocol.version"), where);
      assertEquals(null, p.attributes().get("url.path"), "no high-cardinality attributes: " + where);
      long status = (Long) p.attributes().get("http.response.status_code");
      assertEquals(status >= 500 ? String.valueOf(status) : null, p.attributes().get("error.type"), where);
      countPerStatus.merge(status, p.count(), Long::sum);
    }
    assertEquals(expectedPerStatus, countPerStatus, "histogram count per (GET, status) = requests to " + t.exe());
    // 200 is /hello (fast) and /slow (>= 20 ms): at least the /slow requests are above 0.01 s; sum agrees.
    ReceivedHistogramPoint ok = latest.values().stream()
        .filter(p -> Long.valueOf(200).equals(p.attributes().get("http.response.status_code"))).findFirst().get();
    long slow = expectedPerStatus.get(200L) / 2; // routes alternate hello, missing, fail, slow: half the 200s
    assertTrue(ok.countAtLeast(0.01) >= slow, "slow requests in buckets >= 0.02 s: " + ok);
    assertTrue(ok.sum() >= slow * 0.02, "sum covers the slow requests: " + ok);
  }

  /** The server's {@code http.server.request.duration} points. */
  private static List<ReceivedHistogramPoint> durations(List<ReceivedHistogramPoint> points, Target t) {
    return points.stream().filter(p -> p.name().equals("http.server.request.duration")
        && Long.valueOf(t.pid()).equals(p.resourceAttributes().get("process.pid"))).toList();
  }
}
