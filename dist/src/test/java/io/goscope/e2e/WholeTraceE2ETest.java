package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import java.util.function.Predicate;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole traces, as users run Goscope: a front service whose handlers call a back service (HTTP/1.1, and HTTP/2 over
 * TLS), both built here ({@code dist/src/test/go/tracedemo}) and traced by one {@code bin/goscope agent}; OTLP
 * decoded by a receiver in the test. Asserted exactly: every trace's tree, ids and parents under concurrency,
 * goroutines spawned by a handler (at any depth) keeping its span, a long-lived worker goroutine not inheriting a
 * request's span, an incoming {@code traceparent} (and {@code tracestate}) honoured and a malformed one ignored,
 * an unsampled incoming trace not exported but measured, and histogram counts equal to span counts.
 */
class WholeTraceE2ETest {
  private static final int CONCURRENT = 50;
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String PARENT_ID = "00f067aa0ba902b7";

  @TempDir static Path work;
  static OtlpReceiver receiver;
  static AgentProcess agent;
  static GoServer back;
  static GoServer backTls;
  static GoServer front;
  static GoServer frontH2;
  static Path backCert;
  static HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  static Path tracedemoSource() {
    return Path.of(System.getProperty("goscope.root", "..")).resolve("dist/src/test/go/tracedemo");
  }

  @BeforeAll
  static void start() throws Exception {
    BpfAssumptions.assumeBpf();
    BpfAssumptions.assumeCommand(GoBuilder.go("version").toArray(String[]::new));
    Path bin = GoBuilder.build(GoToolchain.installed(), tracedemoSource(), work.resolve("tracedemo"), List.of(),
        Map.of("CGO_ENABLED", "0"));
    receiver = OtlpReceiver.start();
    agent = AgentProcess.start(AgentProcess.exportingTo(receiver, "tracedemo"));
    agent.awaitLine(l -> l.contains("agent started"), Duration.ofSeconds(60));
    backCert = work.resolve("back.pem");
    back = GoServer.start(bin, List.of(), List.of("-role", "back"));
    backTls = GoServer.start(bin, List.of(), List.of("-role", "back", "-tls-cert-out", backCert.toString()));
    awaitFile(backCert);
    front = GoServer.start(bin, List.of(), List.of("-role", "front", "-back", "http://127.0.0.1:" + back.port()));
    frontH2 = GoServer.start(bin, List.of(), List.of("-role", "front", "-back",
        "https://127.0.0.1:" + backTls.port(), "-back-cert", backCert.toString()));
    for (GoServer s : List.of(back, backTls, front, frontH2)) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + s.launcherPid()), Duration.ofSeconds(60));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {front, frontH2, back, backTls, agent, receiver}) {
      if (c != null) {
        c.close();
      }
    }
  }

  private static void awaitFile(Path p) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!Files.exists(p) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(Files.exists(p), p + " written");
  }

  private static int get(GoServer s, String path, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .timeout(Duration.ofSeconds(20));
    headers.forEach(b::header);
    return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static String pathOf(ReceivedSpan s) {
    Object p = s.attributes().get("url.path");
    if (p != null) {
      return (String) p;
    }
    String full = (String) s.attributes().get("url.full");
    return full == null ? "" : URI.create(full).getPath();
  }

  private static long pidOf(ReceivedSpan s) {
    return (Long) s.resourceAttributes().get("process.pid");
  }

  /** Waits until {@code n} spans match {@code p}; returns exactly those. */
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

  /**
   * 50 concurrent requests, each making two calls from the handler goroutine and one from a goroutine it starts:
   * exactly 50 traces of four spans in the front, every client span the child of its own request's server span.
   */
  @Test
  void concurrentFanOutGivesOneTracePerRequest() throws Exception {
    fanOut(front, "h1", "1.1");
  }

  /** The same over HTTP/2 with TLS between front and back (the calls are multiplexed on one connection). */
  @Test
  void concurrentFanOutOverHttp2() throws Exception {
    fanOut(frontH2, "h2", "2");
  }

  private void fanOut(GoServer server, String tag, String protocol) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT);
    List<Future<Integer>> results = new ArrayList<>();
    for (int i = 0; i < CONCURRENT; i++) {
      String path = "/fanout/" + tag + "-" + i;
      results.add(pool.submit(() -> get(server, path, Map.of())));
    }
    for (Future<Integer> f : results) {
      assertEquals(200, f.get());
    }
    pool.shutdown();
    long frontPid = server.launcherPid();
    String prefix = "/fanout/" + tag + "-";
    List<ReceivedSpan> servers = await(s -> s.kind().equals("SERVER") && pidOf(s) == frontPid
        && pathOf(s).startsWith(prefix), CONCURRENT);
    List<ReceivedSpan> clients = await(s -> s.kind().equals("CLIENT") && pidOf(s) == frontPid
        && pathOf(s).contains(prefix), 3 * CONCURRENT);
    Map<String, ReceivedSpan> serverById = servers.stream().collect(Collectors.toMap(ReceivedSpan::spanId, s -> s));
    assertEquals(CONCURRENT, servers.stream().map(ReceivedSpan::traceId).distinct().count(), "one trace each");
    for (ReceivedSpan s : servers) {
      assertEquals("", s.parentSpanId(), "a request without traceparent starts a trace: " + s);
    }
    Map<String, List<ReceivedSpan>> childrenByParent = clients.stream()
        .collect(Collectors.groupingBy(ReceivedSpan::parentSpanId));
    for (ReceivedSpan s : servers) {
      List<ReceivedSpan> children = childrenByParent.getOrDefault(s.spanId(), List.of());
      String id = pathOf(s).substring("/fanout".length()); // e.g. /h1-7
      assertEquals(3, children.size(), "children of " + pathOf(s) + ": " + children);
      Map<String, ReceivedSpan> byCall = new HashMap<>();
      for (ReceivedSpan c : children) {
        assertEquals(s.traceId(), c.traceId(), "same trace");
        assertTrue(pathOf(c).endsWith("/fanout" + id), "never cross-linked: " + pathOf(c) + " under " + pathOf(s));
        assertTrue(serverById.containsKey(c.parentSpanId()));
        assertEquals(protocol, c.attributes().get("network.protocol.version"), c.toString());
        byCall.put(pathOf(c).split("/")[1], c);
        assertTrue(c.startEpochNanos() >= s.startEpochNanos() && c.endEpochNanos() <= s.endEpochNanos(),
            "a child lies within its parent: " + c + " in " + s);
      }
      assertEquals(200L, byCall.get("ok").attributes().get("http.response.status_code"));
      assertEquals("UNSET", byCall.get("ok").status());
      assertEquals(404L, byCall.get("missing").attributes().get("http.response.status_code"));
      assertEquals("ERROR", byCall.get("missing").status(), "4xx is an error on a client span");
      assertEquals("404", byCall.get("missing").attributes().get("error.type"));
      assertEquals(500L, byCall.get("fail").attributes().get("http.response.status_code"));
      assertEquals("ERROR", byCall.get("fail").status());
      assertEquals("GET", byCall.get("ok").name());
      assertEquals("127.0.0.1", byCall.get("ok").attributes().get("server.address"));
    }
  }

  /** A transport error names the Go error type: the dial error of a port nobody listens on. */
  @Test
  void transportErrorNamesTheGoErrorType() throws Exception {
    assertEquals(502, get(front, "/down/1", Map.of()));
    long pid = front.launcherPid();
    ReceivedSpan c = await(s -> s.kind().equals("CLIENT") && pidOf(s) == pid && pathOf(s).equals("/down/1"), 1)
        .get(0);
    assertEquals("ERROR", c.status());
    assertEquals("*net.OpError", c.attributes().get("error.type"), c.toString());
    assertEquals(null, c.attributes().get("http.response.status_code"));
  }

  /** Ten nested goroutines: the innermost one's call is still the request's child. */
  @Test
  void deepGoroutineChainsKeepTheirParent() throws Exception {
    for (int i = 0; i < 5; i++) {
      assertEquals(200, get(front, "/chain/10?i=" + i, Map.of()));
    }
    long pid = front.launcherPid();
    List<ReceivedSpan> servers = await(s -> s.kind().equals("SERVER") && pidOf(s) == pid
        && pathOf(s).equals("/chain/10"), 5);
    List<ReceivedSpan> clients = await(s -> s.kind().equals("CLIENT") && pidOf(s) == pid
        && pathOf(s).equals("/ok/chain"), 5);
    Map<String, ReceivedSpan> byId = servers.stream().collect(Collectors.toMap(ReceivedSpan::spanId, s -> s));
    for (ReceivedSpan c : clients) {
      ReceivedSpan parent = byId.get(c.parentSpanId());
      assertTrue(parent != null, "ten goroutines deep, the call's parent is its request: " + c);
      assertEquals(parent.traceId(), c.traceId());
    }
    assertEquals(5, clients.stream().map(ReceivedSpan::parentSpanId).distinct().count());
  }

  /**
   * Calls from fresh goroutines at every stack depth: one of them grows its stack right at the entry of the hooked
   * client function, which Go then runs from its first instruction again. Every call is still one span, the child of
   * its request (an entry probe on the function's first byte fired twice there: a second span, the child of a first
   * that never ended).
   */
  @Test
  void aCallThatGrowsTheStackIsOneSpan() throws Exception {
    int calls = 1000;
    assertEquals(200, get(front, "/deep/" + calls, Map.of()));
    long pid = front.launcherPid();
    ReceivedSpan server = await(s -> s.kind().equals("SERVER") && pidOf(s) == pid
        && pathOf(s).equals("/deep/" + calls), 1).get(0);
    List<ReceivedSpan> clients = await(s -> s.kind().equals("CLIENT") && pidOf(s) == pid
        && pathOf(s).equals("/ok/deep"), calls);
    for (ReceivedSpan c : clients) {
      assertEquals(server.spanId(), c.parentSpanId(), "the request is the parent: " + c);
      assertEquals(server.traceId(), c.traceId());
    }
  }

  /**
   * A worker goroutine started at program start serves a request's job: its call belongs to no request (a long-lived
   * or reused goroutine carries no stale parent).
   */
  @Test
  void aLongLivedWorkerCarriesNoStaleParent() throws Exception {
    for (int i = 0; i < 5; i++) {
      assertEquals(200, get(front, "/pool/" + i, Map.of()));
    }
    long pid = front.launcherPid();
    List<ReceivedSpan> servers = await(s -> s.kind().equals("SERVER") && pidOf(s) == pid
        && pathOf(s).startsWith("/pool/"), 5);
    List<ReceivedSpan> clients = await(s -> s.kind().equals("CLIENT") && pidOf(s) == pid
        && pathOf(s).startsWith("/ok/pool/"), 5);
    java.util.Set<String> serverTraces = servers.stream().map(ReceivedSpan::traceId).collect(Collectors.toSet());
    for (ReceivedSpan c : clients) {
      assertEquals("", c.parentSpanId(), "the worker's call is a root: " + c);
      assertFalse(serverTraces.contains(c.traceId()), "and in no request's trace: " + c);
    }
  }

  /** An incoming traceparent (and tracestate) makes the server span its child, and the calls follow in its trace. */
  @Test
  void incomingTraceparentIsHonoured() throws Exception {
    assertEquals(200, get(front, "/fanout/incoming", Map.of(
        "traceparent", "00-" + TRACE_ID + "-" + PARENT_ID + "-01",
        "tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")));
    long pid = front.launcherPid();
    ReceivedSpan server = await(s -> s.kind().equals("SERVER") && pidOf(s) == pid
        && pathOf(s).equals("/fanout/incoming"), 1).get(0);
    assertEquals(TRACE_ID, server.traceId());
    assertEquals(PARENT_ID, server.parentSpanId());
    assertTrue(server.parentRemote(), "the parent is in the caller's process");
    assertEquals("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", server.traceState());
    List<ReceivedSpan> clients = await(s -> s.kind().equals("CLIENT") && pidOf(s) == pid
        && pathOf(s).endsWith("/fanout/incoming"), 3);
    for (ReceivedSpan c : clients) {
      assertEquals(TRACE_ID, c.traceId());
      assertEquals(server.spanId(), c.parentSpanId());
      assertFalse(c.parentRemote());
    }
  }

  /** An incoming traceparent over HTTP/2 (TLS, h2 negotiated) is honoured too. */
  @Test
  void incomingTraceparentOverHttp2() throws Exception {
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, new javax.net.ssl.TrustManager[] {trustingPem(backCert)}, null);
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).sslContext(ssl).build();
    HttpResponse<Void> r = h2.send(HttpRequest.newBuilder(
            URI.create("https://127.0.0.1:" + backTls.port() + "/ok/h2-incoming"))
        .header("traceparent", "00-" + TRACE_ID + "-" + "1111111111111111" + "-01").build(),
        HttpResponse.BodyHandlers.discarding());
    assertEquals(200, r.statusCode());
    assertEquals(HttpClient.Version.HTTP_2, r.version());
    long pid = backTls.launcherPid();
    ReceivedSpan server = await(s -> s.kind().equals("SERVER") && pidOf(s) == pid
        && pathOf(s).equals("/ok/h2-incoming"), 1).get(0);
    assertEquals(TRACE_ID, server.traceId());
    assertEquals("1111111111111111", server.parentSpanId());
    assertEquals("2", server.attributes().get("network.protocol.version"));
  }

  /** Malformed headers are ignored: the server span starts a trace of its own. */
  @Test
  void malformedTraceparentIsIgnored() throws Exception {
    String[] bad = {
        "00-" + TRACE_ID.toUpperCase() + "-" + PARENT_ID + "-01",      // uppercase hex
        "00-00000000000000000000000000000000-" + PARENT_ID + "-01",    // zero trace id
        "00-" + TRACE_ID + "-0000000000000000-01",                      // zero parent id
        "ff-" + TRACE_ID + "-" + PARENT_ID + "-01",                     // forbidden version
        "00-" + TRACE_ID + "-" + PARENT_ID + "-01-extra",               // version 00 must be 55 characters
        "00_" + TRACE_ID + "-" + PARENT_ID + "-01",                     // bad separator
    };
    for (int i = 0; i < bad.length; i++) {
      assertEquals(404, get(front, "/missing/bad-" + i, Map.of("traceparent", bad[i])));
    }
    long pid = front.launcherPid();
    List<ReceivedSpan> servers = await(s -> s.kind().equals("SERVER") && pidOf(s) == pid
        && pathOf(s).startsWith("/missing/bad-"), bad.length);
    for (ReceivedSpan s : servers) {
      assertEquals("", s.parentSpanId(), "malformed traceparent ignored: " + s);
      assertNotEquals(TRACE_ID, s.traceId());
    }
  }

  /** A caller's "not sampled" decision is respected: no span leaves the node, the histogram still counts it. */
  @Test
  void unsampledIncomingTraceIsMeasuredButNotExported() throws Exception {
    String unsampled = "5bf92f3577b34da6a3ce929d0e0e4736";
    for (int i = 0; i < 3; i++) {
      assertEquals(200, get(front, "/fanout/unsampled-" + i, Map.of(
          "traceparent", "00-" + unsampled + "-" + PARENT_ID + "-00")));
      UNSAMPLED_RUN.incrementAndGet();
    }
    // A sampled request after them: once its spans are in, the unsampled ones would have been too.
    assertEquals(200, get(front, "/fanout/after-unsampled", Map.of()));
    long pid = front.launcherPid();
    await(s -> pidOf(s) == pid && pathOf(s).endsWith("/fanout/after-unsampled"), 4);
    assertTrue(receiver.spans().stream().noneMatch(s -> s.traceId().equals(unsampled)),
        "no span of the unsampled trace was exported");
  }

  /** Histograms count exactly the spans (sampled or not): server and client durations of the front. */
  @Test
  void histogramsCountEveryRequest() throws Exception {
    for (int i = 0; i < 10; i++) {
      assertEquals(200, get(front, "/fanout/hist-" + i, Map.of()));
    }
    long pid = front.launcherPid();
    await(s -> pidOf(s) == pid && pathOf(s).contains("/fanout/hist-"), 40);
    // Every server span of the front so far (all tests) against the histogram's count, once both settle.
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    long serverSpans = 0;
    long clientSpans = 0;
    long serverCount = -1;
    long clientCount = -1;
    while (System.nanoTime() < deadline) {
      serverSpans = receiver.spans().stream().filter(s -> pidOf(s) == pid && s.kind().equals("SERVER")).count();
      clientSpans = receiver.spans().stream().filter(s -> pidOf(s) == pid && s.kind().equals("CLIENT")).count();
      Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(receiver.histogramPoints());
      serverCount = count(latest, "http.server.request.duration", pid);
      clientCount = count(latest, "http.client.request.duration", pid);
      long unsampled = UNSAMPLED_RUN.get();
      if (serverCount == serverSpans + unsampled && clientCount == clientSpans + 3 * unsampled) {
        break;
      }
      Thread.sleep(250);
    }
    long unsampled = UNSAMPLED_RUN.get();
    assertEquals(serverSpans + unsampled, serverCount, "server histogram counts every request");
    assertEquals(clientSpans + 3 * unsampled, clientCount, "client histogram counts every call");
  }

  /** Requests of unsampled traces so far (measured, never exported), for the histogram count. */
  private static final java.util.concurrent.atomic.AtomicLong UNSAMPLED_RUN =
      new java.util.concurrent.atomic.AtomicLong();

  private static long count(Map<List<Object>, ReceivedHistogramPoint> latest, String name, long pid) {
    return latest.values().stream()
        .filter(p -> p.name().equals(name) && Long.valueOf(pid).equals(p.resourceAttributes().get("process.pid")))
        .mapToLong(ReceivedHistogramPoint::count).sum();
  }

  /** A trust manager for one self-signed PEM certificate. */
  static javax.net.ssl.TrustManager trustingPem(Path pem) throws Exception {
    java.security.cert.Certificate cert;
    try (var in = Files.newInputStream(pem)) {
      cert = java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
    java.security.KeyStore ks = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("back", cert);
    javax.net.ssl.TrustManagerFactory tmf =
        javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf.getTrustManagers()[0];
  }
}
