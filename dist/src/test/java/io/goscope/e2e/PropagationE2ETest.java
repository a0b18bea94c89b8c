package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outgoing propagation across processes, opt-in per rule: a front service (rule {@code propagation: true}) calls a
 * back service (no propagation), both traced by one {@code bin/goscope agent}. The back's server spans must be the
 * children of the front's client spans, in the same traces, exactly one per call, never cross-linked, under
 * concurrency. An application that sets its own traceparent with the OpenTelemetry Go SDK keeps exactly one header,
 * its own. Where the kernel refuses memory writes (lockdown), HTTP/1.1 goes through the host's socket programs and
 * HTTP/2 over TLS must say "unavailable" (in the log and in {@code goscope inspect}) and carry nothing; where it
 * allows them, HTTP/2 must propagate too.
 */
class PropagationE2ETest {
  private static final int CONCURRENT = 50;

  @TempDir static Path work;
  static OtlpReceiver receiver;
  static AgentProcess agent;
  static GoServer back;
  static GoServer backTls;
  static GoServer front;
  static GoServer frontH2;
  static GoServer otelFront;
  static GoServer sampledFront;
  static Path frontBinary;
  static String support;
  static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    BpfAssumptions.assumeBpf();
    BpfAssumptions.assumeCommand(GoBuilder.go("version").toArray(String[]::new));
    GoToolchain modules = GoToolchain.modules()
        .orElseThrow(() -> new IllegalStateException("no Go toolchain for module builds (GOSCOPE_GO_MODULES)"));
    Path root = Path.of(System.getProperty("goscope.root", ".."));
    Path tracedemo = GoBuilder.build(GoToolchain.installed(), root.resolve("dist/src/test/go/tracedemo"),
        work.resolve("tracedemo"), List.of(), Map.of("CGO_ENABLED", "0"));
    Path otel = GoBuilder.buildModule(modules, root.resolve("dist/src/test/go/otelfront"),
        work.resolve("prop-otelfront"), List.of(), Map.of("CGO_ENABLED", "0"));
    // One binary per role, so that rules select them by executable name.
    frontBinary = Files.copy(tracedemo, work.resolve("prop-front"), StandardCopyOption.REPLACE_EXISTING);
    Path backBinary = Files.copy(tracedemo, work.resolve("prop-back"), StandardCopyOption.REPLACE_EXISTING);
    Path sampledBinary = Files.copy(tracedemo, work.resolve("prop-sampled"), StandardCopyOption.REPLACE_EXISTING);
    Path rules = Files.createDirectories(work.resolve("rules"));
    Files.writeString(rules.resolve("propagation.yaml"), """
        rules:
          - name: front
            match: {executable: prop-front}
            options: {serviceName: prop-front, propagation: true}
          - name: sampled-front
            match: {executable: prop-sampled}
            options: {serviceName: prop-sampled, propagation: true, sampling: 0.5}
          - name: otel-front
            match: {executable: prop-otelfront}
            options: {serviceName: prop-otelfront, propagation: true}
          - name: back
            match: {executable: prop-back}
            options: {serviceName: prop-back}
        """);
    receiver = OtlpReceiver.start();
    Map<String, String> env = new HashMap<>(AgentProcess.exportingTo(receiver, "prop-none"));
    env.put("GOSCOPE_RULES_DIR", rules.toString());
    env.put("GOSCOPE_STATS_INTERVAL", "1s");
    agent = AgentProcess.start(env);
    agent.awaitLine(l -> l.contains("agent started"), Duration.ofSeconds(60));
    support = agent.awaitLine(l -> l.contains("propagation support="), Duration.ofSeconds(5));
    Path cert = work.resolve("back.pem");
    back = GoServer.start(backBinary, List.of(), List.of("-role", "back"));
    backTls = GoServer.start(backBinary, List.of(), List.of("-role", "back", "-tls-cert-out", cert.toString()));
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!Files.exists(cert) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    // The front processes start after the agent: every connection they open is one the agent sees opened.
    front = GoServer.start(frontBinary, List.of(), List.of("-role", "front", "-back", "http://127.0.0.1:" + back.port()));
    frontH2 = GoServer.start(frontBinary, List.of(), List.of("-role", "front", "-back",
        "https://127.0.0.1:" + backTls.port(), "-back-cert", cert.toString()));
    otelFront = GoServer.start(otel, List.of(), List.of("-back", "http://127.0.0.1:" + back.port()));
    sampledFront = GoServer.start(sampledBinary, List.of(), List.of("-role", "front", "-back",
        "http://127.0.0.1:" + back.port()));
    for (GoServer s : List.of(back, backTls, front, frontH2, otelFront, sampledFront)) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + s.launcherPid()), Duration.ofSeconds(60));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {front, frontH2, otelFront, sampledFront, back, backTls, agent,
        receiver}) {
      if (c != null) {
        c.close();
      }
    }
  }

  static boolean memoryWrites() {
    return support.contains("HTTP/2 and TLS, written into the request");
  }

  private static HttpResponse<String> get(GoServer s, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String pathOf(ReceivedSpan s) {
    Object p = s.attributes().get("url.path");
    if (p != null) {
      return (String) p;
    }
    String full = (String) s.attributes().get("url.full");
    return full == null ? "" : URI.create(full).getPath();
  }

  private static String service(ReceivedSpan s) {
    return (String) s.resourceAttributes().get("service.name");
  }

  private static List<ReceivedSpan> await(Predicate<ReceivedSpan> p, int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    List<ReceivedSpan> got = List.of();
    while (System.nanoTime() < deadline) {
      got = receiver.spans().stream().filter(p).toList();
      if (got.size() >= n) {
        Thread.sleep(1500);
        got = receiver.spans().stream().filter(p).toList();
        break;
      }
      Thread.sleep(100);
    }
    assertEquals(n, got.size(), "spans matching; got " + got);
    return got;
  }

  /** 50 concurrent requests, three calls each: 50 traces of 7 spans across the two processes. */
  @Test
  void theBackServiceJoinsTheFrontsTraceOverHttp1() throws Exception {
    checkFanOut(front, "p1");
  }

  private void checkFanOut(GoServer server, String tag) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT);
    List<Future<HttpResponse<String>>> results = new ArrayList<>();
    for (int i = 0; i < CONCURRENT; i++) {
      String path = "/fanout/" + tag + "-" + i;
      results.add(pool.submit(() -> get(server, path)));
    }
    for (Future<HttpResponse<String>> f : results) {
      assertEquals(200, f.get().statusCode(), f.get().body());
    }
    pool.shutdown();
    String suffix = "/fanout/" + tag + "-";
    List<ReceivedSpan> servers = await(s -> s.kind().equals("SERVER") && "prop-front".equals(service(s))
        && pathOf(s).startsWith(suffix), CONCURRENT);
    List<ReceivedSpan> clients = await(s -> s.kind().equals("CLIENT") && "prop-front".equals(service(s))
        && pathOf(s).contains(suffix), 3 * CONCURRENT);
    List<ReceivedSpan> callees = await(s -> s.kind().equals("SERVER") && "prop-back".equals(service(s))
        && pathOf(s).contains(suffix), 3 * CONCURRENT);
    Map<String, ReceivedSpan> clientById = clients.stream().collect(Collectors.toMap(ReceivedSpan::spanId, c -> c));
    Map<Object, Long> outcomes = clients.stream()
        .collect(Collectors.groupingBy(c -> String.valueOf(c.attributes().get("goscope.propagation")),
            Collectors.counting()));
    Map<String, Long> childrenOfClient = new HashMap<>();
    for (ReceivedSpan b : callees) {
      ReceivedSpan caller = clientById.get(b.parentSpanId());
      assertTrue(caller != null, "the back's server span is the child of a front client span: " + b
          + "; propagation outcomes of the client spans: " + outcomes + "; agent: "
          + agent.linesContaining("socketPropagation"));
      assertEquals(caller.traceId(), b.traceId(), "same trace");
      assertEquals(pathOf(caller), pathOf(b), "never cross-linked");
      childrenOfClient.merge(caller.spanId(), 1L, Long::sum);
    }
    assertEquals(3 * CONCURRENT, childrenOfClient.size(), "every call has exactly one callee span");
    assertEquals(Map.of("injected", (long) 3 * CONCURRENT), outcomes, "what propagation did");
    Map<String, List<ReceivedSpan>> byTrace = new HashMap<>();
    for (List<ReceivedSpan> l : List.of(servers, clients, callees)) {
      l.forEach(s -> byTrace.computeIfAbsent(s.traceId(), t -> new ArrayList<>()).add(s));
    }
    assertEquals(CONCURRENT, byTrace.size(), "one trace per request");
    byTrace.forEach((id, spans) -> assertEquals(7, spans.size(), "trace " + id + ": " + spans));
  }

  /**
   * Sampling by rule, parent-based across processes: the front keeps about half of its traces ({@code sampling:
   * 0.5}); a trace is kept whole or dropped whole, in the front and in the back service (whose rule keeps every
   * trace it starts, but follows the sampled flag of the {@code traceparent} it receives), and every span not kept
   * is counted as sampled out.
   */
  @Test
  void aSampledOutTraceIsDroppedWholeInEveryProcessAndCounted() throws Exception {
    int requests = 100;
    long sampledOutBefore = sampledOut();
    ExecutorService pool = Executors.newFixedThreadPool(10);
    List<Future<HttpResponse<String>>> results = new ArrayList<>();
    for (int i = 0; i < requests; i++) {
      String path = "/fanout/s-" + i;
      results.add(pool.submit(() -> get(sampledFront, path)));
    }
    for (Future<HttpResponse<String>> f : results) {
      assertEquals(200, f.get().statusCode(), f.get().body());
    }
    pool.shutdown();
    // How many traces were kept is not known in advance: wait until the spans and the counter stop moving.
    long expectedAll = 7L * requests;
    List<ReceivedSpan> spans = List.of();
    long dropped = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    long stableSince = System.nanoTime();
    while (System.nanoTime() < deadline) {
      List<ReceivedSpan> now = receiver.spans().stream().filter(s -> pathOf(s).contains("/fanout/s-")).toList();
      long droppedNow = sampledOut() - sampledOutBefore;
      if (now.size() != spans.size() || droppedNow != dropped) {
        spans = now;
        dropped = droppedNow;
        stableSince = System.nanoTime();
      } else if (spans.size() + dropped == expectedAll && System.nanoTime() - stableSince > 1_500_000_000L) {
        break;
      }
      Thread.sleep(200);
    }
    Map<String, List<ReceivedSpan>> byTrace = spans.stream().collect(Collectors.groupingBy(ReceivedSpan::traceId));
    Map<String, ReceivedSpan> clientById = spans.stream().filter(s -> s.kind().equals("CLIENT"))
        .collect(Collectors.toMap(ReceivedSpan::spanId, c -> c));
    byTrace.forEach((id, t) -> {
      assertEquals(7, t.size(), "trace " + id + " kept whole: " + t);
      assertEquals(4, t.stream().filter(s -> "prop-sampled".equals(service(s))).count(), "front spans " + t);
      for (ReceivedSpan b : t.stream().filter(s -> "prop-back".equals(service(s))).toList()) {
        assertTrue(clientById.containsKey(b.parentSpanId()), "the back's span follows the front's: " + b);
      }
    });
    int kept = byTrace.size();
    assertTrue(kept > 20 && kept < 80, "about half of " + requests + " traces kept: " + kept);
    assertEquals(7L * (requests - kept), dropped,
        "every span of a dropped trace, in the front and the back, counted as sampled out");
  }

  /** The agent's sampled-out counter from its last stats line (logged every second here). */
  private static long sampledOut() {
    List<String> lines = agent.linesContaining(" sampledOut=");
    if (lines.isEmpty()) {
      return 0;
    }
    String last = lines.get(lines.size() - 1);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(" sampledOut=(\\d+)").matcher(last);
    assertTrue(m.find(), last);
    return Long.parseLong(m.group(1));
  }

  /**
   * HTTP/2 over TLS: written into the request where the kernel allows memory writes; under lockdown "unavailable"
   * (the bytes on the socket are ciphertext) and the back's spans start their own traces.
   */
  @Test
  void http2OverTlsPropagatesOnlyWhereMemoryWritesAreAllowed() throws Exception {
    if (memoryWrites()) {
      checkFanOut(frontH2, "p2");
      return;
    }
    assertTrue(support.contains("propagation unavailable for HTTP/2, gRPC and TLS"), support);
    for (int i = 0; i < 5; i++) {
      assertEquals(200, get(frontH2, "/fanout/p2-" + i).statusCode());
    }
    List<ReceivedSpan> clients = await(s -> s.kind().equals("CLIENT") && "prop-front".equals(service(s))
        && pathOf(s).contains("/fanout/p2-"), 15);
    List<ReceivedSpan> callees = await(s -> s.kind().equals("SERVER") && "prop-back".equals(service(s))
        && pathOf(s).contains("/fanout/p2-"), 15);
    var clientIds = clients.stream().map(ReceivedSpan::spanId).collect(Collectors.toSet());
    for (ReceivedSpan b : callees) {
      assertEquals("", b.parentSpanId(), "nothing was written, so the callee starts a trace: " + b);
      assertTrue(!clientIds.contains(b.parentSpanId()));
    }
    String inspect = inspectText(frontBinary);
    assertTrue(inspect.contains("propagation unavailable for HTTP/2, gRPC and TLS"), inspect);
  }

  /**
   * The OpenTelemetry Go SDK sets its own traceparent: the request leaves with exactly that one header, and the
   * back's server span is the child of the SDK's span, not of Goscope's client span.
   */
  @Test
  void anApplicationsOwnTraceparentIsKeptAlone() throws Exception {
    for (int i = 0; i < 5; i++) {
      String path = "/own-" + i;
      HttpResponse<String> r = get(otelFront, path);
      assertEquals(200, r.statusCode(), r.body());
      // "sent <tp> back ok <tp received> <count>"
      String[] f = r.body().trim().split(" ");
      assertEquals(6, f.length, r.body());
      String sent = f[1];
      assertEquals(sent, f[4], "the back received the SDK's traceparent: " + r.body());
      assertEquals("1", f[5], "exactly one traceparent header: " + r.body());
      String[] tp = sent.split("-");
      ReceivedSpan callee = await(s -> s.kind().equals("SERVER") && "prop-back".equals(service(s))
          && pathOf(s).equals("/ok" + path), 1).get(0);
      assertEquals(tp[1], callee.traceId(), "the SDK's trace");
      assertEquals(tp[2], callee.parentSpanId(), "the SDK's span is the parent");
    }
    List<ReceivedSpan> goscopeClients = receiver.spans().stream()
        .filter(s -> s.kind().equals("CLIENT") && "prop-otelfront".equals(service(s))).toList();
    assertEquals(5, goscopeClients.size(), "Goscope still records the call: " + goscopeClients);
  }

  private static String inspectText(Path binary) throws Exception {
    try (AgentProcess inspect = AgentProcess.start(Map.of(), "inspect", binary.toString())) {
      int exit = inspect.awaitExit(Duration.ofSeconds(60));
      String out = String.join("\n", inspect.output());
      assertEquals(0, exit, out);
      return out;
    }
  }
}
