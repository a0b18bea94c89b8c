package io.goscope.platform.cli;

import io.goscope.platform.agent.Agent;
import io.goscope.platform.agent.AgentConfig;
import io.goscope.platform.agent.AgentEvent;
import io.goscope.platform.instrument.SocketPropagation;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code goscope demo}: one request as one trace across two processes. Starts the real agent, then the bundled Go
 * programs: the server as {@code demo-back} and the front as {@code demo-front} (whose handlers call the back with
 * net/http, from the handler goroutine and from goroutines it starts), selected by a rule file that turns
 * propagation on for the front.
 * Sends a few requests to the front; the console exporter prints each finished trace as a tree, and the
 * request-duration histograms when the agent stops. Says which propagation the kernel allows and what it did.
 */
final class DemoCommand {
  private static final String BACK = "goscope-demo-server";
  private static final String FRONT = "goscope-demo-front";
  private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(60);
  /** Requests sent to the front, in order, with the status each must answer. */
  private static final List<Request> REQUESTS = List.of(new Request("/checkout/1", 200), new Request("/cart/7", 404));
  /** Long enough for a trace's spans to be exported (200 ms batches), go quiet and be printed. */
  private static final Duration TREE_WAIT = Duration.ofMillis(1500);

  private record Request(String path, int status) {}

  private DemoCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
    Optional<String> noBpf = BpfFeatures.unavailableReason();
    if (noBpf.isPresent()) {
      err.println("goscope demo needs BPF: " + noBpf.get());
      return 1;
    }
    int backPort = freePort();
    int frontPort = freePort();
    Path rules = Files.createTempDirectory("goscope-demo-rules");
    String ruleFile = rules(backPort, frontPort);
    Files.writeString(rules.resolve("demo.yaml"), ruleFile);

    Map<String, String> defaults = new HashMap<>();
    defaults.put("goscope.rules.dir", rules.toString());
    defaults.put("goscope.poll.interval", "200ms");
    defaults.put("otel.traces.exporter", "console");
    defaults.put("otel.metrics.exporter", "console");
    defaults.put("goscope.console.quiet.period", "500ms");
    defaults.put("otel.metric.export.interval", "3600000"); // histograms once, when the agent stops
    defaults.put("goscope.self.metrics.export", "false"); // the demo shows the traced programs' telemetry only
    defaults.put("goscope.admin.addr", "off");
    AgentConfig config = AgentConfig.fromEnvironment(defaults); // the environment still overrides each of these
    Path demo = config.goscopeHome().resolve("demo");
    for (String program : List.of(BACK, FRONT)) {
      if (!Files.isExecutable(demo.resolve(program))) {
        err.println("goscope demo: demo program missing: " + demo.resolve(program));
        deleteRules(rules);
        return 1;
      }
    }
    out.println("goscope demo: rules (GOSCOPE_RULES_DIR=" + rules + "):");
    ruleFile.lines().forEach(l -> out.println("    " + l));

    Agent agent = Agent.create(config, List.of());
    Set<Integer> attached = ConcurrentHashMap.newKeySet();
    agent.addListener(e -> {
      if (e.kind() == AgentEvent.Kind.ATTACHED) {
        attached.add(e.pid());
      }
    });
    List<Process> servers = new ArrayList<>();
    try {
      agent.start();
      // Started after the agent, as a deployment restarts: traced from their first request.
      Process back = start(demo.resolve(BACK), backPort, List.of());
      servers.add(back);
      Process front = start(demo.resolve(FRONT), frontPort, List.of("-back", "http://127.0.0.1:" + backPort));
      servers.add(front);
      awaitListening(backPort);
      awaitListening(frontPort);
      long deadline = System.nanoTime() + ATTACH_TIMEOUT.toNanos();
      while (!(attached.contains((int) back.pid()) && attached.contains((int) front.pid()))) {
        if (System.nanoTime() > deadline) {
          err.println("goscope demo: the agent did not attach to demo-back (pid " + back.pid() + ") and demo-front "
              + "(pid " + front.pid() + ") within " + ATTACH_TIMEOUT.toSeconds() + " s"
              + (System.getenv("GOSCOPE_RULES_DIR") != null ? "; GOSCOPE_RULES_DIR replaces the demo's rules" : ""));
          return 1;
        }
        Thread.sleep(50);
      }
      out.println("goscope demo: tracing demo-back (pid " + back.pid() + ", 127.0.0.1:" + backPort
          + ") and demo-front (pid " + front.pid() + ", 127.0.0.1:" + frontPort + ")");
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5)).build();
      int failures = 0;
      for (Request request : REQUESTS) {
        HttpResponse<Void> r = client.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + frontPort + request.path())).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.discarding());
        out.println("goscope demo: GET demo-front" + request.path() + " -> " + r.statusCode() + "; its trace:");
        if (r.statusCode() != request.status()) {
          err.println("goscope demo: expected " + request.status() + " from " + request.path());
          failures++;
        }
        Thread.sleep(TREE_WAIT.toMillis());
      }
      out.println("goscope demo: " + propagation(agent.socketPropagationStats()));
      out.println("goscope demo: stopping; the request-duration histograms follow");
      return failures == 0 ? 0 : 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    } finally {
      agent.close(); // prints what the console exporter still holds, then the histograms
      for (Process p : servers) {
        p.destroy();
      }
      for (Process p : servers) {
        try {
          p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      deleteRules(rules);
    }
  }

  /**
   * The rule file: the two demo programs, each matched on its listen address too (this run's own ports, so demo
   * programs that other runs started stay untouched); propagation on for the front, the caller.
   */
  static String rules(int backPort, int frontPort) {
    return """
        rules:
          - name: demo-front
            match: {executable: %s, cmdline: '-addr 127\\.0\\.0\\.1:%d( |$)'}
            options: {serviceName: demo-front, propagation: true}
          - name: demo-back
            match: {executable: %s, cmdline: '-addr 127\\.0\\.0\\.1:%d( |$)'}
            options: {serviceName: demo-back}
        """.formatted(FRONT, frontPort, BACK, backPort);
  }

  /** What propagation did in this run, from the kernel's answer and the socket programs' counters. */
  static String propagation(SocketPropagation.Stats sockets) {
    Optional<String> noWrites = BpfFeatures.memoryWriteUnavailableReason();
    if (noWrites.isEmpty()) {
      return "propagation: the agent wrote traceparent into the front's requests (BPF memory writes are allowed), "
          + "so demo-back's server spans joined the front's traces";
    }
    if (sockets.inserted() > 0) {
      return "propagation: socket-level: the agent inserted traceparent into " + sockets.inserted() + " cleartext "
          + "HTTP/1.1 requests as they left demo-front's sockets, so demo-back's server spans joined the front's "
          + "traces. BPF memory writes are refused on this host, so HTTP/2, gRPC and TLS cannot carry context here: "
          + noWrites.get();
    }
    return "propagation unavailable (" + noWrites.get() + "; no header was inserted at the socket): demo-back's "
        + "spans start traces of their own (goscope demo -v shows the agent's log, whose 'propagation support=' line "
        + "says why)";
  }

  private static Process start(Path binary, int port, List<String> args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(binary.toString(), "-addr", "127.0.0.1:" + port));
    cmd.addAll(args);
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void awaitListening(int port) throws IOException, InterruptedException {
    for (int i = 0; i < 200; i++) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new IOException("demo server did not listen on port " + port);
  }

  private static void deleteRules(Path rules) {
    try {
      Files.deleteIfExists(rules.resolve("demo.yaml"));
      Files.deleteIfExists(rules);
    } catch (IOException e) {
      // a temporary directory left behind is harmless
    }
  }
}
