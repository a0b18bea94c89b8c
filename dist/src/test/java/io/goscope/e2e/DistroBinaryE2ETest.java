package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A Go 1.19 binary from a Debian package, built by someone else: {@code prometheus-node-exporter} (stripped: no
 * symbol table, no DWARF; cgo, dynamically linked). Struct offsets must come from the binary's own type metadata
 * and symbols from .gopclntab. The binary comes from {@code GOSCOPE_NODE_EXPORTER} ({@code .ci/fetch-test-binaries
 * node-exporter}, which extracts the .deb without installing it). Skipped when absent, failed under CI.
 */
class DistroBinaryE2ETest {
  private static Path exporter;

  @BeforeAll
  static void requirements() {
    BpfAssumptions.assumeBpf();
    String configured = System.getProperty("goscope.node.exporter", System.getenv("GOSCOPE_NODE_EXPORTER"));
    if (configured == null || configured.isBlank() || !Files.isExecutable(Path.of(configured))) {
      BpfAssumptions.skipOrFail("Debian's prometheus-node-exporter not available: set GOSCOPE_NODE_EXPORTER "
          + "(.ci/fetch-test-binaries node-exporter)");
    }
    exporter = Path.of(configured);
  }

  @Test
  void tracesAStrippedDebianGoBinary() throws Exception {
    int port = GoServer.freePort();
    Process server = new ProcessBuilder(exporter.toString(), "--web.listen-address=127.0.0.1:" + port,
        "--collector.disable-defaults", "--collector.time").redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    try (OtlpReceiver receiver = OtlpReceiver.start();
        AgentProcess agent = AgentProcess.start(Map.of(
            "GO_APPS", exporter.getFileName().toString(),
            "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
            "OTEL_METRICS_EXPORTER", "none"))) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + server.pid() + " "), Duration.ofSeconds(60));
      java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
          .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
      Map<String, Integer> expected = new HashMap<>();
      for (int i = 0; i < 10; i++) {
        String path = i % 2 == 0 ? "/metrics" : "/";
        int status = client.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + port + path + "?n=" + i)).build(),
            java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
        assertEquals(200, status, path);
        expected.merge(path, 1, Integer::sum);
      }
      List<ReceivedSpan> spans = receiver.awaitSpans(10, Duration.ofSeconds(30));
      Thread.sleep(1500);
      spans = receiver.spans();
      assertEquals(10, spans.size(), "one span per request: " + spans);
      Map<String, Integer> seen = new HashMap<>();
      for (ReceivedSpan s : spans) {
        // node-exporter serves both paths from a ServeMux: the matched pattern is the route, and names the span.
        assertEquals(s.attributes().get("url.path"), s.attributes().get("http.route"), s.toString());
        assertEquals("GET " + s.attributes().get("http.route"), s.name(), s.toString());
        assertEquals("SERVER", s.kind(), s.toString());
        assertEquals(200L, s.attributes().get("http.response.status_code"), s.toString());
        assertEquals((long) port, s.attributes().get("server.port"), s.toString());
        assertEquals("go1.19.8", s.resourceAttributes().get("process.runtime.version"), s.toString());
        assertEquals("prometheus-node-exporter", s.resourceAttributes().get("service.name"), s.toString());
        seen.merge((String) s.attributes().get("url.path"), 1, Integer::sum);
      }
      assertEquals(expected, seen, "exact paths");
      assertTrue(server.isAlive(), "the traced exporter is unharmed");
      assertTrue(agent.output().stream().anyMatch(l -> l.contains("stripped=true")), "analysed as stripped");
    } finally {
      server.destroy();
      server.waitFor();
    }
  }
}
