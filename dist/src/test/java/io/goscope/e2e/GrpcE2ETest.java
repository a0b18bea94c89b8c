package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * grpc-go traced as users run Goscope, across grpc-go releases: Debian's 1.33 (GOPATH mode, Go 1.19) and module
 * builds of 1.66, 1.70 and 1.85 (Go 1.26), default and stripped builds, all of {@code dist/src/test/go/grpcdemo}.
 * Each release's server is called by its own client (unary calls that end OK, NOT_FOUND, INTERNAL and past their
 * deadline, a server stream, a client stream, a bidirectional stream and one the client cancels), by grpc-java with
 * a traceparent in its metadata, and the Go client calls a grpc-java server; an HTTP handler making two gRPC calls
 * gives one trace of three spans under concurrency. Spans, statuses and parents are asserted exactly, and the
 * duration histograms count every span.
 *
 * <p>Every process is selected by a rule that enables propagation. Where the kernel refuses writes into processes
 * (lockdown), the agent says propagation is unavailable for gRPC and no call may carry a traceparent Goscope wrote;
 * where it allows them, every call carries its client span's.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GrpcE2ETest {
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final int CONCURRENT = 50;
  private static final Path DEBIAN_GRPC = Path.of("/usr/share/gocode/src/google.golang.org/grpc");
  private static final String METHOD_PREFIX = "goscope.test.Echo/";

  /** The client cases of grpcdemo and the code the client sees for each. */
  private static final Map<String, String> CASES = new LinkedHashMap<>();

  static {
    CASES.put("unary-ok", "OK");
    CASES.put("unary-notfound", "NOT_FOUND");
    CASES.put("unary-internal", "INTERNAL");
    CASES.put("unary-deadline", "DEADLINE_EXCEEDED");
    CASES.put("server-stream", "OK");
    CASES.put("client-stream", "OK");
    CASES.put("bidi", "OK");
    CASES.put("bidi-cancel", "CANCELLED");
  }

  @TempDir static Path work;
  static OtlpReceiver receiver;
  static AgentProcess agent;
  static final List<Release> releases = new ArrayList<>();
  static final List<AutoCloseable> closing = new ArrayList<>();
  static JavaEcho.EchoServer javaServer;
  static GoServer web;
  static Release webTarget;
  static boolean propagation;

  /** One build of grpcdemo, its server and the client that calls it. */
  record Release(String label, Path binary, GoServer server, GoClient client) {}

  static Path source() {
    return Path.of(System.getProperty("goscope.root", "..")).resolve("dist/src/test/go/grpcdemo");
  }

  @BeforeAll
  static void start() throws Exception {
    BpfAssumptions.assumeBpf();
    BpfAssumptions.assumeCommand(GoBuilder.go("version").toArray(String[]::new));
    if (!Files.isDirectory(DEBIAN_GRPC)) {
      BpfAssumptions.skipOrFail("needs Debian's golang-google-grpc-dev (grpc-go 1.33) in " + DEBIAN_GRPC);
    }
    GoToolchain modules = GoToolchain.modules().orElse(null);
    if (modules == null) {
      BpfAssumptions.skipOrFail("needs a current Go for module builds (GOSCOPE_GO_MODULES or /usr/local/go)");
    }
    Map<String, Path> binaries = build(modules);

    receiver = OtlpReceiver.start();
    Path rules = Files.createDirectories(work.resolve("rules"));
    Files.writeString(rules.resolve("grpc.yaml"), """
        rules:
          - name: grpcdemo
            match: {executable: "grpcdemo-*"}
            options: {serviceName: grpcdemo, propagation: true}
        """);
    Map<String, String> env = new HashMap<>(AgentProcess.exportingTo(receiver, ""));
    env.put("GOSCOPE_RULES_DIR", rules.toString());
    agent = AgentProcess.start(env);
    agent.awaitLine(l -> l.contains("agent started"), Duration.ofSeconds(60));
    // gRPC calls get context only where the agent can write into processes (not by socket-level insertion, which
    // handles cleartext HTTP/1.x alone).
    String support = agent.awaitLine(l -> l.contains("propagation support="), Duration.ofSeconds(5));
    propagation = support.contains("support=\"available where a rule enables it");

    javaServer = new JavaEcho.EchoServer();
    List<Long> pids = new ArrayList<>();
    for (Map.Entry<String, Path> b : binaries.entrySet()) {
      GoServer server = GoServer.start(b.getValue(), List.of(), List.of("-role", "server"));
      closing.add(server);
      GoClient client = GoClient.start(b.getValue(), "127.0.0.1:" + server.port());
      closing.add(client);
      releases.add(new Release(b.getKey(), b.getValue(), server, client));
      pids.add(server.launcherPid());
      pids.add(client.pid());
    }
    webTarget = releases.stream().filter(r -> r.label().equals("v1.85.0")).findFirst().orElseThrow();
    Path webBinary = GoBuilder.copy(webTarget.binary(), work.resolve("grpcdemo-web"));
    web = GoServer.start(webBinary, List.of(), List.of("-role", "web", "-target",
        "127.0.0.1:" + webTarget.server().port()));
    closing.add(web);
    pids.add(web.launcherPid());
    for (long pid : pids) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + pid + " "), Duration.ofSeconds(90));
    }
  }

  /** Builds grpcdemo for every release: label (also in the executable's name) -> binary. */
  private static Map<String, Path> build(GoToolchain modules) throws Exception {
    Map<String, java.util.concurrent.Callable<Path>> jobs = new LinkedHashMap<>();
    Path gopath = Files.createDirectories(work.resolve("gopath"));
    Map<String, String> debian = Map.of("CGO_ENABLED", "0", "GOPATH", gopath + ":/usr/share/gocode");
    jobs.put("1.33", () -> GoBuilder.build(GoToolchain.installed(), source(), out("grpcdemo-1.33"), List.of(),
        debian));
    jobs.put("1.33-stripped", () -> GoBuilder.build(GoToolchain.installed(), source(),
        out("grpcdemo-1.33-stripped"), List.of("-ldflags=-s -w"), debian));
    for (String v : List.of("v1.66.3", "v1.70.0", "v1.85.0")) {
      Path dir = Files.createDirectories(work.resolve("mod-" + v));
      Files.copy(source().resolve("main.go"), dir.resolve("main.go"));
      Files.copy(source().resolve("modules/" + v + "/go.mod"), dir.resolve("go.mod"));
      Files.copy(source().resolve("modules/" + v + "/go.sum"), dir.resolve("go.sum"));
      jobs.put(v, () -> GoBuilder.buildModule(modules, dir, out("grpcdemo-" + v), List.of(),
          Map.of("CGO_ENABLED", "0")));
      if (!v.equals("v1.70.0")) {
        jobs.put(v + "-stripped", () -> GoBuilder.buildModule(modules, dir, out("grpcdemo-" + v + "-stripped"),
            List.of("-ldflags=-s -w"), Map.of("CGO_ENABLED", "0")));
      }
    }
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Map<String, Future<Path>> futures = new LinkedHashMap<>();
      jobs.forEach((label, job) -> futures.put(label, pool.submit(job)));
      Map<String, Path> out = new LinkedHashMap<>();
      for (Map.Entry<String, Future<Path>> f : futures.entrySet()) {
        out.put(f.getKey(), f.getValue().get(10, TimeUnit.MINUTES));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /** Build outputs live under target/ so that GoBuilder's cache survives between runs. */
  private static Path out(String name) throws IOException {
    return Files.createDirectories(Path.of("target", "grpc-e2e")).resolve(name).toAbsolutePath();
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
    for (AutoCloseable c : new AutoCloseable[] {javaServer, agent, receiver}) {
      if (c != null) {
        c.close();
      }
    }
  }

  private static long pidOf(ReceivedSpan s) {
    return (Long) s.resourceAttributes().get("process.pid");
  }

  /** Waits until {@code n} spans match {@code p}; returns exactly those (and fails on more). */
  private static List<ReceivedSpan> await(Predicate<ReceivedSpan> p, int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    List<ReceivedSpan> got = List.of();
    while (System.nanoTime() < deadline) {
      got = receiver.spans().stream().filter(p).toList();
      if (got.size() >= n) {
        Thread.sleep(1500); // anything extra would arrive now
        got = receiver.spans().stream().filter(p).toList();
        break;
      }
      Thread.sleep(100);
    }
    assertEquals(n, got.size(), "spans matching; got " + got);
    return got;
  }

  /** Exactly {@code n} spans match {@code p} among those received (after an {@link #await} of them all). */
  private static List<ReceivedSpan> now(Predicate<ReceivedSpan> p, int n) {
    List<ReceivedSpan> got = receiver.spans().stream().filter(p).toList();
    assertEquals(n, got.size(), "spans matching; got " + got);
    return got;
  }

  private static String attr(ReceivedSpan s, String key) {
    Object v = s.attributes().get(key);
    return v == null ? null : v.toString();
  }

  /** Go's codes.Code names as the conventions write them. */
  private static String semconvCode(String goName) {
    return switch (goName) {
      case "Canceled" -> "CANCELLED";
      case "DeadlineExceeded" -> "DEADLINE_EXCEEDED";
      default -> goName.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(java.util.Locale.ROOT);
    };
  }

  /**
   * Every release: its client runs each case once against its server; one CLIENT span per call on the client's side
   * and one SERVER span per RPC on the server's, with the exact method, status and attributes.
   */
  @Test
  @Order(1)
  void everyReleaseTracesUnaryCallsAndStreamsOnBothSides() throws Exception {
    for (Release r : releases) {
      for (Map.Entry<String, String> c : CASES.entrySet()) {
        assertEquals(c.getKey() + " " + c.getValue(), r.client().call(c.getKey()), r.label());
      }
    }
    java.util.Set<Long> pids = new java.util.HashSet<>();
    releases.forEach(r -> {
      pids.add(r.client().pid());
      pids.add(r.server().launcherPid());
    });
    await(s -> pids.contains(pidOf(s)), 2 * CASES.size() * releases.size()); // all in, nothing more
    for (Release r : releases) {
      long clientPid = r.client().pid();
      long serverPid = r.server().launcherPid();
      List<ReceivedSpan> clients = now(s -> pidOf(s) == clientPid && s.kind().equals("CLIENT"), CASES.size());
      List<ReceivedSpan> servers = now(s -> pidOf(s) == serverPid && s.kind().equals("SERVER"), CASES.size());
      clients = clients.stream().sorted(java.util.Comparator.comparingLong(ReceivedSpan::startEpochNanos)).toList();
      servers = servers.stream().sorted(java.util.Comparator.comparingLong(ReceivedSpan::startEpochNanos)).toList();
      String deadlineOnServer = serverDeadlineCode(r);
      int i = 0;
      for (Map.Entry<String, String> c : CASES.entrySet()) {
        String method = METHOD_PREFIX + methodOf(c.getKey());
        ReceivedSpan client = clients.get(i);
        String where = r.label() + " " + c.getKey() + ": " + client;
        assertEquals(method, client.name(), where);
        assertEquals(method, attr(client, "rpc.method"), where);
        assertEquals("grpc", attr(client, "rpc.system.name"), where);
        assertEquals(c.getValue(), attr(client, "rpc.response.status_code"), where);
        assertEquals(c.getValue().equals("OK") ? "UNSET" : "ERROR", client.status(), where);
        assertEquals(c.getValue().equals("OK") ? null : c.getValue(), attr(client, "error.type"), where);
        assertEquals("127.0.0.1", attr(client, "server.address"), where);
        assertEquals((long) r.server().port(), client.attributes().get("server.port"), where);
        assertEquals("", client.parentSpanId(), "a call outside any span starts a trace: " + where);
        assertEquals("io.goscope.grpc", client.scope());
        assertEquals("https://opentelemetry.io/schemas/1.44.0", client.scopeSchemaUrl());

        ReceivedSpan server = servers.get(i);
        where = r.label() + " " + c.getKey() + ": " + server;
        String code = c.getKey().equals("unary-deadline") ? deadlineOnServer : c.getValue();
        assertEquals(method, server.name(), where);
        assertEquals(method, attr(server, "rpc.method"), where);
        assertEquals(code, attr(server, "rpc.response.status_code"), where);
        boolean serverError = List.of("UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
            "DATA_LOSS").contains(code);
        assertEquals(serverError ? "ERROR" : "UNSET", server.status(), "the server's error table: " + where);
        assertEquals(serverError ? code : null, attr(server, "error.type"), where);
        assertEquals("127.0.0.1", attr(server, "server.address"), where);
        assertEquals((long) r.server().port(), server.attributes().get("server.port"), where);
        assertEquals("127.0.0.1", attr(server, "network.peer.address"), where);
        assertTrue((Long) server.attributes().get("network.peer.port") > 0, where);
        assertEquals("tcp", attr(server, "network.transport"), where);
        assertEquals("2", attr(server, "network.protocol.version"), where);
        if (propagation) {
          assertEquals(client.traceId(), server.traceId(), "the server continues the client's trace: " + where);
          assertEquals(client.spanId(), server.parentSpanId(), where);
          assertTrue(server.parentRemote(), where);
        } else {
          assertEquals("", server.parentSpanId(), "nothing injected under lockdown: " + where);
        }
        assertTrue(server.startEpochNanos() >= client.startEpochNanos() - 1_000_000, where);
        i++;
      }
      // The call past its deadline takes about its 100 ms; the others far less.
      long deadlineNanos = clients.get(3).endEpochNanos() - clients.get(3).startEpochNanos();
      assertTrue(deadlineNanos >= 90_000_000L && deadlineNanos < 900_000_000L, r.label() + " " + deadlineNanos);
    }
  }

  private static String methodOf(String c) {
    return c.startsWith("unary") ? "Unary" : c.startsWith("server") ? "ServerStream"
        : c.startsWith("client") ? "ClientStream" : "Bidi";
  }

  /** What the server answered the call past its deadline (it races the client's cancellation): from its log. */
  private static String serverDeadlineCode(Release r) throws IOException {
    Path log = r.binary().resolveSibling(r.binary().getFileName() + ".log");
    Matcher m = Pattern.compile("served unary sleep:1000 code=(\\w+)").matcher(Files.readString(log));
    assertTrue(m.find(), "the server logged its answer to the deadline call: " + log);
    return semconvCode(m.group(1));
  }

  /** grpc-java calls each release's server with a traceparent (and tracestate) in its metadata: honoured. */
  @Test
  @Order(2)
  void grpcJavaMetadataTraceparentMakesTheServerSpanItsChild() throws Exception {
    int n = 0;
    for (Release r : releases) {
      String parent = String.format("%016x", 0x1000 + n++);
      ManagedChannel ch = JavaEcho.channel(r.server().port());
      try {
        assertEquals(Status.Code.OK, JavaEcho.unary(ch, "java-" + r.label(), Map.of(
            "traceparent", "00-" + TRACE_ID + "-" + parent + "-01",
            "tracestate", "congo=t61rcWkgMzE")).getCode());
        assertEquals(Status.Code.NOT_FOUND, JavaEcho.unary(ch, "notfound", Map.of(
            "traceparent", "00-" + TRACE_ID + "-" + parent + "-01")).getCode());
      } finally {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    await(s -> TRACE_ID.equals(s.traceId()) && s.kind().equals("SERVER"), 2 * releases.size());
    n = 0;
    for (Release r : releases) {
      String parent = String.format("%016x", 0x1000 + n++);
      long pid = r.server().launcherPid();
      List<ReceivedSpan> servers = now(s -> pidOf(s) == pid && s.kind().equals("SERVER")
          && TRACE_ID.equals(s.traceId()), 2);
      for (ReceivedSpan s : servers) {
        assertEquals(parent, s.parentSpanId(), r.label() + ": " + s);
        assertTrue(s.parentRemote(), r.label());
        assertEquals(METHOD_PREFIX + "Unary", s.name());
      }
      assertEquals(List.of("NOT_FOUND", "OK"), servers.stream().map(s -> attr(s, "rpc.response.status_code"))
          .sorted().toList(), r.label());
      assertTrue(servers.stream().anyMatch(s -> s.traceState().equals("congo=t61rcWkgMzE")), r.label());
    }
  }

  /**
   * The Go client of the oldest and the newest release calls a grpc-java server: exact client spans; the Java server
   * sees a traceparent only where the kernel lets Goscope write it (never under lockdown).
   */
  @Test
  @Order(3)
  void goClientCallsAGrpcJavaServer() throws Exception {
    for (String label : List.of("1.33", "v1.85.0-stripped")) {
      Release r = releases.stream().filter(x -> x.label().equals(label)).findFirst().orElseThrow();
      try (GoClient client = GoClient.start(r.binary(), "127.0.0.1:" + javaServer.port())) {
        agent.awaitLine(l -> l.contains("process instrumented pid=" + client.pid() + " "), Duration.ofSeconds(60));
        assertEquals("unary:java-" + label + " OK", client.call("unary:java-" + label));
        assertEquals("unary:notfound NOT_FOUND", client.call("unary:notfound"));
        List<ReceivedSpan> spans = await(s -> pidOf(s) == client.pid() && s.kind().equals("CLIENT"), 2);
        Map<String, ReceivedSpan> byCode = spans.stream()
            .collect(Collectors.toMap(s -> attr(s, "rpc.response.status_code"), s -> s));
        assertEquals("UNSET", byCode.get("OK").status());
        assertEquals("ERROR", byCode.get("NOT_FOUND").status());
        assertEquals("NOT_FOUND", attr(byCode.get("NOT_FOUND"), "error.type"));
        for (ReceivedSpan s : spans) {
          assertEquals(METHOD_PREFIX + "Unary", s.name());
          assertEquals((long) javaServer.port(), s.attributes().get("server.port"));
          assertEquals("", s.parentSpanId());
        }
        JavaEcho.Seen seen = javaServer.seen().stream().filter(x -> x.request().equals("java-" + label))
            .findFirst().orElseThrow();
        if (propagation) {
          ReceivedSpan ok = byCode.get("OK");
          assertEquals("00-" + ok.traceId() + "-" + ok.spanId() + "-01", seen.traceparent());
        } else {
          assertNull(seen.traceparent(), "propagation unavailable here: nothing may be written into the call");
          assertTrue(agent.linesContaining("propagation support=").get(0).contains("unavailable for HTTP/2, gRPC")
              || agent.linesContaining("propagation support=").get(0).contains("propagation unavailable"));
        }
      }
    }
  }

  /** 50 concurrent HTTP requests, each making two gRPC calls: exactly 50 traces of three spans in the web process. */
  @Test
  @Order(4)
  void anHttpHandlerMakingTwoGrpcCallsGivesOneTraceOfThreeSpans() throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT);
    try {
      List<Future<Integer>> results = new ArrayList<>();
      for (int i = 0; i < CONCURRENT; i++) {
        URI uri = URI.create("http://127.0.0.1:" + web.port() + "/call/" + i);
        results.add(pool.submit(() -> http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20))
            .build(), HttpResponse.BodyHandlers.discarding()).statusCode()));
      }
      for (Future<Integer> f : results) {
        assertEquals(200, f.get());
      }
    } finally {
      pool.shutdown();
    }
    long pid = web.launcherPid();
    List<ReceivedSpan> servers = await(s -> pidOf(s) == pid && s.kind().equals("SERVER"), CONCURRENT);
    List<ReceivedSpan> clients = await(s -> pidOf(s) == pid && s.kind().equals("CLIENT"), 2 * CONCURRENT);
    assertEquals(CONCURRENT, servers.stream().map(ReceivedSpan::traceId).distinct().count(), "one trace each");
    assertEquals(CONCURRENT, receiver.spans().stream().filter(s -> pidOf(s) == pid).map(ReceivedSpan::traceId)
        .distinct().count(), "exactly 50 traces in the web process");
    Map<String, List<ReceivedSpan>> byParent = clients.stream()
        .collect(Collectors.groupingBy(ReceivedSpan::parentSpanId));
    for (ReceivedSpan s : servers) {
      assertEquals("io.goscope.nethttp", s.scope());
      assertEquals("", s.parentSpanId());
      List<ReceivedSpan> children = byParent.getOrDefault(s.spanId(), List.of());
      assertEquals(2, children.size(), "two gRPC calls under " + s);
      assertEquals(List.of("NOT_FOUND", "OK"), children.stream().map(c -> attr(c, "rpc.response.status_code"))
          .sorted().toList());
      for (ReceivedSpan c : children) {
        assertEquals(s.traceId(), c.traceId());
        assertEquals(METHOD_PREFIX + "Unary", c.name());
        assertFalse(c.parentRemote());
        assertTrue(c.startEpochNanos() >= s.startEpochNanos() && c.endEpochNanos() <= s.endEpochNanos(),
            "a call lies within its request: " + c + " in " + s);
      }
    }
    if (propagation) {
      long serverPid = webTarget.server().launcherPid();
      java.util.Set<String> clientIds = clients.stream().map(ReceivedSpan::spanId).collect(Collectors.toSet());
      List<ReceivedSpan> called = await(s -> pidOf(s) == serverPid && clientIds.contains(s.parentSpanId()),
          2 * CONCURRENT);
      assertEquals(2 * CONCURRENT, called.size());
    }
  }

  /** Both duration histograms count exactly the spans of every process (all tests so far). */
  @Test
  @Order(5)
  void histogramCountsEqualSpanCounts() throws Exception {
    List<Long> pids = new ArrayList<>();
    for (Release r : releases) {
      pids.add(r.server().launcherPid());
      pids.add(r.client().pid());
    }
    pids.add(web.launcherPid());
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    String mismatch = "";
    while (System.nanoTime() < deadline) {
      mismatch = "";
      Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(receiver.histogramPoints());
      for (long pid : pids) {
        long servers = receiver.spans().stream().filter(s -> pidOf(s) == pid && s.kind().equals("SERVER")
            && s.scope().equals("io.goscope.grpc")).count();
        long clients = receiver.spans().stream().filter(s -> pidOf(s) == pid && s.kind().equals("CLIENT")
            && s.scope().equals("io.goscope.grpc")).count();
        long serverCount = count(latest, "rpc.server.call.duration", pid);
        long clientCount = count(latest, "rpc.client.call.duration", pid);
        if (servers != serverCount || clients != clientCount) {
          mismatch += " pid=" + pid + " server spans " + servers + " vs " + serverCount + ", client spans " + clients
              + " vs " + clientCount + ";";
        }
      }
      if (mismatch.isEmpty()) {
        break;
      }
      Thread.sleep(250);
    }
    assertEquals("", mismatch);
    ReceivedHistogramPoint p = receiver.histogramPoints().stream()
        .filter(x -> x.name().equals("rpc.server.call.duration")).findFirst().orElseThrow();
    assertEquals("s", p.unit());
    assertEquals("https://opentelemetry.io/schemas/1.44.0", p.scopeSchemaUrl());
    assertEquals(List.of(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
        p.explicitBounds());
    assertNotNull(p.attributes().get("rpc.method"));
    assertNull(p.attributes().get("network.peer.port"), "low cardinality: no peer on the metric");
  }

  /**
   * Where the offsets came from: DWARF in default builds, the binary's own type metadata in stripped ones (as
   * {@code goscope inspect} reports them), and the bundled table alone gives the same offsets as DWARF for the
   * module releases it covers.
   */
  @Test
  @Order(6)
  void offsetsResolveFromDwarfTypeMetadataAndTheBundledTable() throws Exception {
    String method = "google.golang.org/grpc/internal/transport.Stream.method";
    String code = "google.golang.org/genproto/googleapis/rpc/status.Status.Code";
    String fields = "golang.org/x/net/http2.MetaHeadersFrame.Fields";
    for (Release r : releases) {
      Map<String, String> sources = InspectReport.of(r.binary()).fieldSources();
      String want = r.label().endsWith("-stripped") ? "TYPE_METADATA" : "DWARF";
      for (String f : List.of(method, code, fields)) {
        assertEquals(want, sources.get(f), r.label() + " " + f + ": " + sources);
      }
    }
    io.goscope.api.ProbeSetDescriptor d = new io.goscope.plugins.grpc.GrpcProbeSet().descriptor();
    io.goscope.platform.gobinary.OffsetTable table = io.goscope.platform.gobinary.OffsetTable.loadResource(
        io.goscope.plugins.grpc.GrpcProbeSet.class.getClassLoader(), d.offsetTableResource());
    io.goscope.platform.gobinary.FieldResolver resolver =
        new io.goscope.platform.gobinary.FieldResolver(List.of(), null);
    for (Release r : releases) {
      if (!r.label().startsWith("v") || r.label().endsWith("-stripped")) {
        continue; // GOPATH builds record no module versions for a table to match; stripped ones no DWARF
      }
      try (io.goscope.platform.gobinary.GoBinary b = io.goscope.platform.gobinary.GoBinary.open(r.binary())) {
        var view = io.goscope.platform.gobinary.FieldResolver.BinaryView.of(b);
        var tableOnly = new io.goscope.platform.gobinary.FieldResolver.BinaryView(view.name(), null,
            view.goVersion(), view.moduleVersions(), java.util.Optional::empty, java.util.Optional::empty);
        var fromDwarf = resolver.resolveAll(view, d.fields(), List.of());
        var fromTable = resolver.resolveAll(tableOnly, d.fields(), List.of(table));
        int compared = 0;
        for (int i = 0; i < fromDwarf.size(); i++) {
          var dwarf = fromDwarf.get(i);
          var tabled = fromTable.get(i);
          // The table covers the fields of modules (not the standard library's net.TCPAddr) the binary links.
          boolean linked = view.moduleVersions().containsKey(dwarf.field().module());
          if (dwarf.offset().isPresent() && linked) {
            assertEquals(io.goscope.platform.gobinary.FieldSource.TABLE, tabled.source(),
                r.label() + " " + tabled);
            assertEquals(dwarf.offset(), tabled.offset(), r.label() + " " + dwarf.field().qualifiedName());
            compared++;
          }
        }
        assertTrue(compared >= 12, r.label() + ": " + compared + " fields compared");
      }
    }
  }

  /**
   * A Go program that does not link grpc-go (the net/http demo of the whole-trace tests), selected by the same rule:
   * the grpc set is not applicable to it, which neither fails nor warns; net/http traces it as before.
   */
  @Test
  @Order(7)
  void aBinaryWithoutGrpcGoIsSkippedSilently() throws Exception {
    Path bin = GoBuilder.build(GoToolchain.installed(), WholeTraceE2ETest.tracedemoSource(),
        work.resolve("grpcdemo-nogrpc"), List.of(), Map.of("CGO_ENABLED", "0"));
    String inspect = InspectReport.of(bin).toString();
    assertTrue(inspect.contains("not applicable: the binary does not link the library"), inspect);
    int from = agent.lineCount();
    try (GoServer s = GoServer.start(bin, List.of(), List.of("-role", "back"))) {
      String line = agent.awaitLineAfter(from, l -> l.contains("process instrumented pid=" + s.launcherPid() + " "),
          Duration.ofSeconds(60));
      assertTrue(line.contains("nethttp="), line);
      assertFalse(line.contains("grpc="), line);
      assertEquals(200, s.get("/ok/nogrpc"));
      await(x -> pidOf(x) == s.launcherPid() && x.kind().equals("SERVER"), 1);
      List<String> noise = agent.output().subList(from, agent.lineCount()).stream()
          .filter(l -> l.contains("pid=" + s.launcherPid()) || l.contains("grpcdemo-nogrpc"))
          .filter(l -> l.contains("WARN") || l.contains("ERROR") || l.contains("partly")).toList();
      // Propagation is enabled by the rule and unavailable here: that warning is about the feature, not grpc-go.
      assertTrue(noise.stream().noneMatch(l -> l.contains("grpc:") || l.contains("set=grpc")), noise.toString());
    }
  }

  private static long count(Map<List<Object>, ReceivedHistogramPoint> latest, String name, long pid) {
    return latest.values().stream()
        .filter(p -> p.name().equals(name) && Long.valueOf(pid).equals(p.resourceAttributes().get("process.pid")))
        .mapToLong(ReceivedHistogramPoint::count).sum();
  }

  /** grpcdemo's client role: one case per line written to it, one result line back. */
  static final class GoClient implements AutoCloseable {
    private final Process process;
    private final Writer in;
    private final BufferedReader out;

    private GoClient(Process process) {
      this.process = process;
      this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    static GoClient start(Path binary, String target) throws IOException, InterruptedException {
      Process p = new ProcessBuilder(binary.toString(), "-role", "client", "-target", target)
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      GoClient c = new GoClient(p);
      String ready = c.out.readLine();
      if (!"ready".equals(ready)) {
        c.close();
        throw new IOException(binary + " client did not start: " + ready);
      }
      return c;
    }

    long pid() {
      return process.pid();
    }

    /** Runs one case; returns "case CODE" (the detail the client prints dropped). */
    String call(String c) throws IOException {
      in.write(c + "\n");
      in.flush();
      String line = out.readLine();
      if (line == null) {
        throw new IOException("client exited");
      }
      String[] parts = line.split(" ");
      return parts[0] + " " + semconvCode(parts[1]);
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }
}
