package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Go binary built by someone else, with a much newer Go, stripped: esbuild from npm ({@code @esbuild/linux-x64}
 * 0.28.2, Go 1.26, no symbol table, no DWARF). {@code esbuild --serve --servedir} is a net/http server; the agent
 * must find {@code net/http.serverHandler.ServeHTTP} through pclntab, struct offsets through Go 1.26 type metadata,
 * and produce one exact span per request.
 *
 * <p>The binary comes from {@code GOSCOPE_ESBUILD} (environment or system property): the path of
 * {@code package/bin/esbuild} from {@code npm pack @esbuild/linux-x64@0.28.2}. Skipped when absent, failed under CI.
 */
class NewGoVersionE2ETest {
  @TempDir static Path work;
  static Path esbuild;

  @BeforeAll
  static void requirements() {
    BpfAssumptions.assumeBpf();
    esbuild = io.goscope.testing.TestBinaries.esbuild();
  }

  /** esbuild serving a directory, traced by the agent. */
  private static final class Scenario implements AutoCloseable {
    final OtlpReceiver receiver;
    final Process server;
    final AgentProcess agent;
    final int port;
    final HttpClient client =
        HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    Scenario(Path servedir) throws Exception {
      port = GoServer.freePort();
      receiver = OtlpReceiver.start();
      // esbuild stops serving when its stdin closes: the pipe ProcessBuilder gives it stays open until close().
      server = new ProcessBuilder(esbuild.toString(), "--serve=127.0.0.1:" + port, "--servedir=" + servedir,
          "--log-level=warning").redirectErrorStream(true)
          .redirectOutput(work.resolve("esbuild-" + port + ".log").toFile()).start();
      awaitListening();
      agent = AgentProcess.start(Map.of(
          "GO_APPS", "esbuild",
          "GOSCOPE_POLL_INTERVAL", "300ms",
          "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
          "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
          "OTEL_TRACES_EXPORTER", "otlp",
          "OTEL_METRICS_EXPORTER", "none",
          "OTEL_LOGS_EXPORTER", "none"));
      try {
        agent.awaitLine(l -> l.contains("process instrumented pid=" + server.pid() + " ")
            || l.contains("process not instrumented pid=" + server.pid() + " "), Duration.ofSeconds(60));
        List<String> failed = agent.output().stream()
            .filter(l -> l.contains("process not instrumented pid=" + server.pid() + " ")).toList();
        assertTrue(failed.isEmpty(), "agent did not attach to esbuild (diagnose with `bin/goscope inspect "
            + esbuild + "`): " + failed + "\n" + String.join("\n", agent.output()));
      } catch (Exception | AssertionError e) {
        close(); // the caller never gets this object: nothing may outlive the failed start
        throw e;
      }
    }

    private void awaitListening() throws Exception {
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      while (System.nanoTime() < deadline) {
        if (!server.isAlive()) {
          throw new IOException("esbuild exited with " + server.exitValue() + ": "
              + Files.readString(work.resolve("esbuild-" + port + ".log")));
        }
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 200);
          return;
        } catch (IOException e) {
          Thread.sleep(50);
        }
      }
      throw new IOException("esbuild not listening on " + port);
    }

    int get(String path) throws Exception {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(10)).GET().build();
      return client.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** Waits for {@code n} spans, then a little longer so duplicates would show. */
    List<ReceivedSpan> spans(int n) throws Exception {
      receiver.awaitSpans(n, Duration.ofSeconds(30));
      Thread.sleep(1500);
      return receiver.spans();
    }

    @Override
    public void close() throws Exception {
      try {
        agent.close();
      } finally {
        server.destroy();
        if (!server.waitFor(5, TimeUnit.SECONDS)) {
          server.destroyForcibly();
        }
        receiver.close();
      }
    }
  }

  private static Path site() throws IOException {
    Path dir = Files.createDirectories(work.resolve("site"));
    Files.writeString(dir.resolve("index.html"), "<!doctype html><p>traced</p>\n");
    for (int i = 0; i < 8; i++) {
      Files.writeString(dir.resolve("file" + i + ".txt"), "file " + i + "\n");
    }
    Files.createDirectories(dir.resolve("sub"));
    Files.writeString(dir.resolve("sub/app.js"), "console.log('hi')\n");
    return dir;
  }

  @Test
  void oneExactServerSpanPerRequest() throws Exception {
    Map<String, Integer> expected = new LinkedHashMap<>();
    expected.put("/index.html", 200);
    for (int i = 0; i < 8; i++) {
      expected.put("/file" + i + ".txt", 200);
    }
    expected.put("/sub/app.js", 200);
    for (int i = 0; i < 5; i++) {
      expected.put("/missing-" + i + ".txt", 404);
    }
    try (Scenario s = new Scenario(site())) {
      for (Map.Entry<String, Integer> e : expected.entrySet()) {
        assertEquals(e.getValue(), s.get(e.getKey()), "esbuild's own answer for " + e.getKey());
      }
      List<ReceivedSpan> spans = s.spans(expected.size());
      assertEquals(expected.size(), spans.size(), "exactly one span per request: " + spans);

      Map<String, ReceivedSpan> byPath = OtlpReceiver.uniqueBy(spans, "url.path");
      assertEquals(expected.keySet(), byPath.keySet(), "every request has its span");
      for (Map.Entry<String, Integer> e : expected.entrySet()) {
        ReceivedSpan span = byPath.get(e.getKey());
        String where = e.getKey() + " " + span;
        assertEquals("SERVER", span.kind(), where);
        assertEquals("GET", span.name(), where);
        assertEquals("GET", span.attributes().get("http.request.method"), where);
        assertEquals(e.getKey(), span.attributes().get("url.path"), where);
        assertEquals((long) e.getValue(), span.attributes().get("http.response.status_code"), where);
        assertEquals("http", span.attributes().get("url.scheme"), where);
        assertEquals("1.1", span.attributes().get("network.protocol.version"), where);
        assertEquals("UNSET", span.status(), where);
        assertEquals("127.0.0.1", span.attributes().get("client.address"), where);
        assertEquals(s.server.pid(), span.resourceAttributes().get("process.pid"), where);
        assertEquals("esbuild", span.resourceAttributes().get("process.executable.name"), where);
        assertTrue(String.valueOf(span.resourceAttributes().get("process.runtime.version")).startsWith("go1.26"),
            where);
        long nanos = span.endEpochNanos() - span.startEpochNanos();
        assertTrue(nanos > 0 && nanos < 5_000_000_000L, "duration " + nanos + " ns: " + where);
      }
      assertTrue(s.server.isAlive(), "esbuild alive while traced");
      assertEquals(200, s.get("/index.html"), "esbuild still serves");
      assertEquals(0, s.agent.terminate(Duration.ofSeconds(20)), "agent exits cleanly on SIGTERM");
      assertTrue(s.server.isAlive(), "esbuild survives the agent's exit");
      assertEquals(200, s.get("/file0.txt"), "and still serves");
    }
  }

  /**
   * esbuild's handler rewrites {@code req.Host} to strip the port (its DNS-rebinding check). The span must still
   * carry the port the client asked for: request fields have to be what the server received, not what the handler
   * left behind.
   */
  @Test
  void serverPortIsTheRequestedOneEvenWhenTheHandlerRewritesHost() throws Exception {
    try (Scenario s = new Scenario(site())) {
      assertEquals(200, s.get("/file1.txt"));
      List<ReceivedSpan> spans = s.spans(1);
      assertEquals(1, spans.size(), "one span: " + spans);
      ReceivedSpan span = spans.get(0);
      assertEquals("127.0.0.1", span.attributes().get("server.address"), span.toString());
      assertEquals((long) s.port, span.attributes().get("server.port"),
          "server.port from the Host header the client sent (127.0.0.1:" + s.port + "); esbuild sets req.Host = "
              + "host without port inside ServeHTTP, and the probe reads req.Host at return: " + span);
    }
  }
}
