package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A binary attached once for all its processes: a restarted server is traced from its first request with no attach
 * at all, and a CLI that makes one call within milliseconds of its start and exits is traced every time, although
 * the agent never gets to read its /proc entries.
 */
class RestartAndShortLivedE2ETest {
  @TempDir Path work;

  @Test
  void restartsAndShortLivedProcessesAreTracedFromTheirFirstCall() throws Exception {
    BpfAssumptions.assumeBpf();
    Path bin = GoBuilder.build(GoToolchain.installed(), WholeTraceE2ETest.tracedemoSource(),
        work.resolve("tracedemo"), List.of(), Map.of("CGO_ENABLED", "0"));
    try (OtlpReceiver receiver = OtlpReceiver.start();
        AgentProcess agent = AgentProcess.start(withStats(AgentProcess.exportingTo(receiver, "tracedemo")));
        Servers started = new Servers()) {
      agent.awaitLine(l -> l.contains("agent started"), Duration.ofSeconds(60));
      GoServer back = started.add(GoServer.start(bin, List.of(), List.of("-role", "back")));
      agent.awaitLine(l -> l.contains("process instrumented pid=" + back.launcherPid()), Duration.ofSeconds(60));
      String backUrl = "http://127.0.0.1:" + back.port();

      // Short-lived CLIs: each makes its call right away and exits; the binary is attached already (the back
      // service runs it), so each is traced from its first instruction.
      int runs = 20;
      List<Long> pids = new ArrayList<>();
      for (int i = 0; i < runs; i++) {
        Process cli = new ProcessBuilder(bin.toString(), "-role", "cli", "-back", backUrl)
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(cli.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, cli.exitValue(), "cli run " + i);
        pids.add(cli.pid());
      }
      List<ReceivedSpan> calls;
      try {
        calls = awaitSpans(receiver, s -> s.kind().equals("CLIENT")
            && String.valueOf(s.attributes().get("url.full")).contains("/ok/cli/"), runs);
      } catch (AssertionError e) {
        // What the agent said about the runs whose span is missing, and its counters.
        Set<Long> seen = receiver.spans().stream().map(s -> s.resourceAttributes().get("process.pid"))
            .filter(Long.class::isInstance).map(Long.class::cast).collect(Collectors.toSet());
        List<String> about = agent.output().stream().filter(l -> pids.stream().filter(p -> !seen.contains(p))
            .anyMatch(p -> l.contains("pid=" + p + " ") || l.endsWith("pid=" + p)) || l.contains("stats ")).toList();
        throw new AssertionError(e.getMessage() + "\nagent lines about the missing runs:\n"
            + String.join("\n", about), e);
      }
      Set<Long> traced = calls.stream().map(s -> (Long) s.resourceAttributes().get("process.pid"))
          .collect(Collectors.toSet());
      assertEquals(Set.copyOf(pids), traced, "every CLI run traced, under its own pid");
      for (ReceivedSpan c : calls) {
        long pid = (Long) c.resourceAttributes().get("process.pid");
        assertTrue(String.valueOf(c.attributes().get("url.full")).endsWith("/ok/cli/" + pid), c.toString());
        assertEquals("tracedemo", c.resourceAttributes().get("service.name"));
      }
      int attachesBefore = agent.linesContaining("binary attached for all its processes").size();

      // A restart: the new process is traced from its first request, without an attach.
      back.close();
      GoServer restarted = started.add(GoServer.start(bin, List.of(), List.of("-role", "back")));
      long t0 = System.nanoTime();
      HttpClient http = HttpClient.newHttpClient();
      assertEquals(200, http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + restarted.port() + "/ok/first-after-restart")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode());
      long sent = System.nanoTime();
      List<ReceivedSpan> first = awaitSpans(receiver, s -> s.kind().equals("SERVER")
          && "/ok/first-after-restart".equals(s.attributes().get("url.path")), 1);
      assertEquals(restarted.launcherPid(), first.get(0).resourceAttributes().get("process.pid"));
      assertEquals(attachesBefore, agent.linesContaining("binary attached for all its processes").size(),
          "the restart needed no attach");
      System.out.printf("restart: first request %.1f ms after listening, span exported%n", (sent - t0) / 1e6);
      restarted.close();
    }
  }

  /** The Go servers a test started, stopped when it ends, whether it passed or not. */
  private static final class Servers implements AutoCloseable {
    private final List<GoServer> servers = new ArrayList<>();

    GoServer add(GoServer s) {
      servers.add(s);
      return s;
    }

    @Override
    public void close() throws InterruptedException {
      for (GoServer s : servers) {
        s.close();
      }
    }
  }

  /** The agent's counters every 5 s, for the failure message. */
  private static Map<String, String> withStats(Map<String, String> env) {
    Map<String, String> out = new java.util.HashMap<>(env);
    out.put("GOSCOPE_STATS_INTERVAL", "5s");
    return out;
  }

  private static List<ReceivedSpan> awaitSpans(OtlpReceiver receiver, java.util.function.Predicate<ReceivedSpan> p,
      int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    List<ReceivedSpan> got = List.of();
    while (System.nanoTime() < deadline) {
      got = receiver.spans().stream().filter(p).toList();
      if (got.size() >= n) {
        Thread.sleep(1000);
        got = receiver.spans().stream().filter(p).toList();
        break;
      }
      Thread.sleep(100);
    }
    assertEquals(n, got.size(), "spans: " + got);
    return got;
  }
}
