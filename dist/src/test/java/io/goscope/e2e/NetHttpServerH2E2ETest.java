package io.goscope.e2e;

import static io.goscope.e2e.NetHttpServerE2ETest.ROUTES;
import static io.goscope.e2e.NetHttpServerE2ETest.ROUTE_STATUS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * HTTP/2 as users meet it: the demo net/http server over TLS ({@code -tls-cert-out}: {@code ListenAndServeTLS}, so
 * the standard library's bundled HTTP/2 server answers ALPN "h2"), traced by {@code bin/goscope agent}, with
 * concurrent HTTP/2 streams multiplexed on a few connections and HTTP/1.1 requests to the same port. Every request
 * gets exactly one SERVER span whose status code is the one the client saw, HTTP/2 included (read through the h2
 * response writer's fields), and whose {@code network.protocol.version} is {@code 2} or {@code 1.1}. An h2c
 * prior-knowledge preface ({@code PRI * HTTP/2.0}, which Go's HTTP/1 server passes to the handler with an HTTP/1
 * response writer) gets the status of its HTTP/1 answer.
 *
 * <p>Built twice: with DWARF (field offsets from DWARF) and stripped (offsets from Go's type metadata); the
 * provenance is checked with {@code goscope inspect --json}.
 */
class NetHttpServerH2E2ETest {
  /** HTTP/2 connections (one HttpClient each; the JDK client multiplexes a client's requests on one connection). */
  private static final int H2_CONNECTIONS = 2;
  /** Requests per HTTP/2 connection, all in flight at once. */
  private static final int H2_REQUESTS_PER_CONNECTION = 100;
  /** HTTP/1.1 requests over TLS, all in flight at once (one connection each). */
  private static final int H1_REQUESTS = 40;

  @TempDir static Path work;

  @BeforeAll
  static void requirements() {
    BpfAssumptions.assumeBpf();
    BpfAssumptions.assumeCommand(GoBuilder.go("version").toArray(String[]::new));
  }

  /** The demo server, which serves HTTPS (h2 and HTTP/1.1) when given {@code -tls-cert-out}. */
  static Path build(String variant) {
    return GoBuilder.build(NetHttpServerE2ETest.demoSource(), work.resolve("e2e-h2-" + variant),
        NetHttpServerE2ETest.buildFlags(variant), Map.of("CGO_ENABLED", "0"));
  }

  /** One request of the scenario: a unique path, the version to speak and the status the route answers. */
  private record Call(String path, HttpClient.Version version, int status) {
    String protocolVersion() {
      return version == HttpClient.Version.HTTP_2 ? "2" : "1.1";
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"default", "stripped"})
  void oneServerSpanPerHttp2AndHttp1Request(String variant) throws Exception {
    Path binary = build(variant);
    String exe = binary.getFileName().toString();
    assertOffsetsFrom(binary, variant.equals("stripped") ? "TYPE_METADATA" : "DWARF");
    Path cert = work.resolve(exe + "-cert.pem");
    Files.deleteIfExists(cert);
    try (OtlpReceiver receiver = OtlpReceiver.start();
        GoServer server = GoServer.start(binary, List.of(), List.of("-tls-cert-out", cert.toString()));
        AgentProcess agent = AgentProcess.start(AgentProcess.exportingTo(receiver, exe))) {
      long pid = server.launcherPid();
      agent.awaitLine(l -> l.contains("process instrumented pid=" + pid + " "), Duration.ofSeconds(30));

      SSLContext tls = trusting(cert);
      List<Call> calls = new ArrayList<>();
      List<HttpClient> clients = new ArrayList<>();
      for (int c = 0; c < H2_CONNECTIONS; c++) {
        HttpClient h2 = client(HttpClient.Version.HTTP_2, tls);
        for (int i = 0; i < H2_REQUESTS_PER_CONNECTION; i++) {
          int r = (c + i) % ROUTES.length;
          calls.add(new Call("/" + ROUTES[r] + "/h2-c" + c + "-" + i, HttpClient.Version.HTTP_2, ROUTE_STATUS[r]));
          clients.add(h2);
        }
      }
      HttpClient h1 = client(HttpClient.Version.HTTP_1_1, tls);
      for (int i = 0; i < H1_REQUESTS; i++) {
        int r = i % ROUTES.length;
        calls.add(new Call("/" + ROUTES[r] + "/h1-" + i, HttpClient.Version.HTTP_1_1, ROUTE_STATUS[r]));
        clients.add(h1);
      }

      List<CompletableFuture<HttpResponse<Void>>> responses = new ArrayList<>();
      for (int i = 0; i < calls.size(); i++) {
        HttpRequest req = HttpRequest.newBuilder(server.uri("https", calls.get(i).path()))
            .timeout(Duration.ofSeconds(20)).GET().build();
        responses.add(clients.get(i).sendAsync(req, HttpResponse.BodyHandlers.discarding()));
      }
      for (int i = 0; i < calls.size(); i++) {
        Call call = calls.get(i);
        HttpResponse<Void> response = responses.get(i).get();
        assertEquals(call.version(), response.version(), "negotiated version of " + call.path());
        assertEquals(call.status(), response.statusCode(), "HTTP status of the server itself for " + call.path());
      }

      // An h2c prior-knowledge preface: Go's HTTP/1 server hands "PRI * HTTP/2.0" to the handler (for h2c
      // upgrades) with an HTTP/1 response writer although Request.Proto says HTTP/2.0.
      assertEquals(404, priorKnowledgePreface(tls, server.port()), "HTTP/1 answer to the h2c preface");

      List<ReceivedSpan> spans = receiver.awaitSpans(calls.size() + 1, Duration.ofSeconds(30));
      Thread.sleep(1500); // anything extra (duplicates) would arrive by now
      spans = receiver.spans();
      assertEquals(calls.size() + 1, spans.size(), "exactly one span per request");
      Map<String, ReceivedSpan> byPath = OtlpReceiver.uniqueBy(spans, "url.path");
      ReceivedSpan pri = byPath.get("*");
      assertTrue(pri != null, "span for the preface in " + byPath.keySet());
      assertEquals("HTTP", pri.name(), pri.toString());
      assertEquals("_OTHER", pri.attributes().get("http.request.method"), pri.toString());
      assertEquals("PRI", pri.attributes().get("http.request.method_original"), pri.toString());
      assertEquals(404L, pri.attributes().get("http.response.status_code"), pri.toString());
      assertEquals("2", pri.attributes().get("network.protocol.version"), "as the request line says: " + pri);
      assertEquals("https", pri.attributes().get("url.scheme"), pri.toString());
      Map<List<Object>, Long> expectedPerSeries = new HashMap<>();
      expectedPerSeries.put(List.of("2", 404L), 1L);
      for (Call call : calls) {
        ReceivedSpan s = byPath.get(call.path());
        String where = call + " " + s;
        assertTrue(s != null, "span for " + call);
        assertEquals("GET", s.name(), where);
        assertEquals("SERVER", s.kind(), where);
        assertEquals("GET", s.attributes().get("http.request.method"), where);
        assertEquals("https", s.attributes().get("url.scheme"), where);
        assertEquals((long) call.status(), s.attributes().get("http.response.status_code"), where);
        assertEquals(call.protocolVersion(), s.attributes().get("network.protocol.version"), where);
        assertEquals("127.0.0.1", s.attributes().get("server.address"), where);
        assertEquals((long) server.port(), s.attributes().get("server.port"), where);
        assertEquals("127.0.0.1", s.attributes().get("client.address"), where);
        assertEquals(call.status() >= 500 ? "ERROR" : "UNSET", s.status(), where);
        long durationNanos = s.endEpochNanos() - s.startEpochNanos();
        if (call.path().startsWith("/slow")) {
          assertTrue(durationNanos >= 20_000_000L && durationNanos < 5_000_000_000L, where + " took " + durationNanos);
        }
        assertEquals(pid, s.resourceAttributes().get("process.pid"), where);
        expectedPerSeries.merge(List.of(call.protocolVersion(), (long) call.status()), 1L, Long::sum);
      }
      assertHistogramCounts(receiver, expectedPerSeries);

      assertTrue(server.isAlive(), "traced process still alive");
      assertEquals(0, agent.terminate(Duration.ofSeconds(20)), "agent exits cleanly on SIGTERM");
    }
  }

  /** The JDK client for one protocol version, trusting only the test server's certificate. */
  private static HttpClient client(HttpClient.Version version, SSLContext tls) {
    return HttpClient.newBuilder().version(version).sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();
  }

  /**
   * Sends the HTTP/2 connection preface on a TLS connection that negotiated no ALPN protocol (so the HTTP/1 server
   * reads it) and returns the status code of the HTTP/1 response.
   */
  private static int priorKnowledgePreface(SSLContext tls, int port) throws Exception {
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String statusLine = new BufferedReader(
          new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
      assertTrue(statusLine != null && statusLine.startsWith("HTTP/1.1 "), "status line: " + statusLine);
      return Integer.parseInt(statusLine.substring("HTTP/1.1 ".length(), "HTTP/1.1 ".length() + 3));
    }
  }

  /** A TLS context whose only trust anchor is the PEM certificate the Go server wrote. */
  private static SSLContext trusting(Path pemCertificate) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(pemCertificate)) {
      trust.setCertificateEntry("goscope-demo-server", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** {@code goscope inspect --json}: the fields for the status of HTTP/2.0 requests resolve, from {@code source}. */
  private static void assertOffsetsFrom(Path binary, String source) throws Exception {
    InspectReport report = InspectReport.of(binary);
    Map<String, String> sources = report.fieldSources();
    for (String field : List.of("net/http.http2responseWriter.rws", "net/http.http2responseWriterState.req",
        "net/http.http2responseWriterState.status", "net/http.response.req")) {
      assertEquals(source, sources.get(field), field + " in:\n" + report);
    }
  }

  /**
   * The latest cumulative {@code http.server.request.duration} point of each (protocol version, status) series
   * counts exactly the requests of that combination.
   */
  private static void assertHistogramCounts(OtlpReceiver receiver, Map<List<Object>, Long> expected)
      throws InterruptedException {
    long total = expected.values().stream().mapToLong(Long::longValue).sum();
    List<ReceivedHistogramPoint> points = receiver.awaitHistogramPoints(
        all -> latestDurations(all).stream().mapToLong(ReceivedHistogramPoint::count).sum() >= total,
        Duration.ofSeconds(15));
    Map<List<Object>, Long> counts = new HashMap<>();
    for (ReceivedHistogramPoint p : latestDurations(points)) {
      counts.merge(List.of(p.attributes().get("network.protocol.version"),
          p.attributes().get("http.response.status_code")), p.count(), Long::sum);
    }
    assertEquals(expected, counts, "histogram count per (network.protocol.version, status) = requests");
  }

  private static List<ReceivedHistogramPoint> latestDurations(List<ReceivedHistogramPoint> points) {
    return List.copyOf(OtlpReceiver.latestPerSeries(
        points.stream().filter(p -> p.name().equals("http.server.request.duration")).toList()).values());
  }
}
