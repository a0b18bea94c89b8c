package io.goscope.platform.cli;

import io.goscope.platform.agent.Agent;
import io.goscope.platform.agent.AgentConfig;
import io.goscope.platform.agent.AgentEvent;
import io.goscope.platform.sys.BpfFeatures;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code goscope demo}: starts the bundled Go HTTP server, traces it with the real agent (uprobes, ring buffer,
 * decoders, export pipelines), drives a few requests and prints the spans and the request-duration histograms on
 * the console.
 */
final class DemoCommand {
  private static final String SERVER = "goscope-demo-server";

  private DemoCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
    Optional<String> noBpf = BpfFeatures.unavailableReason();
    if (noBpf.isPresent()) {
      err.println("goscope demo needs BPF: " + noBpf.get());
      return 1;
    }
    Map<String, String> overrides = new HashMap<>();
    overrides.put("go.apps", SERVER);
    overrides.put("goscope.poll.interval", "200ms");
    if (System.getenv("OTEL_TRACES_EXPORTER") == null) {
      overrides.put("otel.traces.exporter", "console");
    }
    if (System.getenv("OTEL_METRICS_EXPORTER") == null) {
      overrides.put("otel.metrics.exporter", "console");
    }
    if (System.getenv("OTEL_METRIC_EXPORT_INTERVAL") == null) {
      // The histograms are printed once, by the final collection when the demo stops, not every interval.
      overrides.put("otel.metric.export.interval", "3600000");
    }
    overrides.put("goscope.self.metrics.export", "false"); // the demo shows the traced server's telemetry only
    overrides.put("goscope.admin.addr", "off");
    AgentConfig config = AgentConfig.fromEnvironment(overrides);
    Path binary = config.goscopeHome().resolve("demo").resolve(SERVER);
    if (!Files.isExecutable(binary)) {
      err.println("goscope demo: demo server missing: " + binary);
      return 1;
    }
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    out.println("goscope demo: starting " + binary + " on 127.0.0.1:" + port);
    Process server = new ProcessBuilder(binary.toString(), "-addr", "127.0.0.1:" + port)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    Agent agent = Agent.create(config, List.of());
    CountDownLatch attached = new CountDownLatch(1);
    agent.addListener(e -> {
      if (e.kind() == AgentEvent.Kind.ATTACHED && e.pid() == server.pid()) {
        attached.countDown();
      }
    });
    try {
      awaitListening(port);
      agent.start();
      if (!attached.await(30, TimeUnit.SECONDS)) {
        err.println("goscope demo: the agent did not attach to pid " + server.pid() + " within 30 s");
        return 1;
      }
      out.println("goscope demo: attached to pid " + server.pid() + "; sending requests");
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      for (String path : List.of("/hello", "/hello/world", "/missing", "/fail", "/slow", "/hello?lang=go")) {
        HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
        out.println("goscope demo: GET " + path + " -> " + r.statusCode());
      }
      Thread.sleep(1000);
      out.println("goscope demo: spans above; stopping (the request-duration histograms follow)");
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    } finally {
      agent.close();
      server.destroy();
      try {
        server.waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void awaitListening(int port) throws IOException, InterruptedException {
    for (int i = 0; i < 100; i++) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new IOException("demo server did not listen on port " + port);
  }
}
