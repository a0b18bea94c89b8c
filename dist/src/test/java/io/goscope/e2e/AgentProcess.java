package io.goscope.e2e;

import io.goscope.testing.OtlpReceiver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * {@code bin/goscope agent} run the way users run it (a separate JVM configured by environment variables), with
 * what the end-to-end tests observe: log lines, open file descriptors by kind, heap after a full GC.
 */
public final class AgentProcess implements AutoCloseable {
  private final Process process;
  private final List<String> lines = new ArrayList<>();
  private final Thread reader;

  private AgentProcess(Process process) {
    this.process = process;
    this.reader = new Thread(this::pump, "agent-output");
    reader.setDaemon(true);
    reader.start();
  }

  public static Path home() {
    String home = System.getProperty("goscope.home");
    Path p = home != null ? Path.of(home) : Path.of("target/goscope");
    if (!Files.isExecutable(p.resolve("bin/goscope"))) {
      throw new IllegalStateException("distribution not built: " + p.resolve("bin/goscope"));
    }
    return p;
  }

  /**
   * The agent's environment for tracing {@code goApps} (GO_APPS, comma-separated) to {@code receiver}: spans and
   * metrics (exported every second) over OTLP http/protobuf, no logs.
   */
  public static Map<String, String> exportingTo(OtlpReceiver receiver, String goApps) {
    return Map.of(
        "GO_APPS", goApps,
        "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint(),
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
        "OTEL_TRACES_EXPORTER", "otlp",
        "OTEL_METRICS_EXPORTER", "otlp",
        "OTEL_METRIC_EXPORT_INTERVAL", "1000",
        "OTEL_LOGS_EXPORTER", "none");
  }

  public static AgentProcess start(Map<String, String> env, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(home().resolve("bin/goscope").toString());
    cmd.addAll(List.of(args.length == 0 ? new String[] {"agent"} : args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("OTEL_") || k.startsWith("GOSCOPE_") || k.equals("GO_APPS")
        || k.equals("KUBECONFIG") || k.equals("NODE_NAME") || k.startsWith("KUBERNETES_"));
    // The admin endpoint on an ephemeral loopback port, unless the test says otherwise: other agents (tests,
    // engineers) may hold the default :6060 on this machine.
    pb.environment().put("GOSCOPE_ADMIN_ADDR", "127.0.0.1:0");
    pb.environment().putAll(env);
    return new AgentProcess(pb.start());
  }

  /**
   * Starts {@code command} with exactly {@code env} as its environment (nothing inherited): an agent launched the
   * way a container runtime launches it from a manifest.
   */
  public static AgentProcess startCommand(List<String> command, Map<String, String> env) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(env);
    return new AgentProcess(pb.start());
  }

  private void pump() {
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      int closedRetries = 0;
      while (true) {
        String line;
        try {
          line = r.readLine();
        } catch (IOException e) {
          // When the process exits, the JDK's reaper drains what is left of the pipe into a buffer and closes the
          // pipe under a blocked read ("Stream closed"); reading on gets that buffer: the agent's last lines.
          if (closedRetries++ < 3) {
            continue;
          }
          break;
        }
        if (line == null) {
          break;
        }
        synchronized (lines) {
          lines.add(line);
          lines.notifyAll();
        }
        if (Boolean.getBoolean("goscope.e2e.echo")) {
          System.out.println("[agent] " + line);
        }
      }
    } catch (IOException ignored) {
      // closing the reader
    }
  }

  /** Waits for an output line matching {@code p}; returns it, or throws with the output so far. */
  public String awaitLine(Predicate<String> p, Duration timeout) throws InterruptedException {
    return awaitLineAfter(0, p, timeout);
  }

  /** Waits for a line matching {@code p} at or after output index {@code from} (see {@link #lineCount()}). */
  public String awaitLineAfter(int from, Predicate<String> p, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lines) {
      int seen = from;
      while (true) {
        for (; seen < lines.size(); seen++) {
          if (p.test(lines.get(seen))) {
            return lines.get(seen);
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0 || (!process.isAlive() && seen == lines.size())) {
          throw new AssertionError("agent output has no expected line within " + timeout + "; output since line "
              + from + ":\n" + String.join("\n", lines.subList(Math.min(from, lines.size()), lines.size())));
        }
        lines.wait(Math.max(1, Math.min(200, left / 1_000_000)));
      }
    }
  }

  /** The admin endpoint's port, from the agent's "admin endpoint listening" line. */
  public int adminPort() throws InterruptedException {
    String line = awaitLine(l -> l.contains("admin endpoint listening addr="), Duration.ofSeconds(60));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("addr=\\S*:(\\d+)").matcher(line);
    if (!m.find()) {
      throw new AssertionError("no port in " + line);
    }
    return Integer.parseInt(m.group(1));
  }

  /** GET on the admin endpoint: the status and the body. */
  public java.util.Map.Entry<Integer, String> admin(String path) throws IOException, InterruptedException {
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + adminPort() + path))
            .timeout(Duration.ofSeconds(10)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    return java.util.Map.entry(r.statusCode(), r.body());
  }

  /** Number of output lines so far. */
  public int lineCount() {
    synchronized (lines) {
      return lines.size();
    }
  }

  /** Lines containing {@code text}. */
  public List<String> linesContaining(String text) {
    synchronized (lines) {
      return lines.stream().filter(l -> l.contains(text)).toList();
    }
  }

  /**
   * The agent's open file descriptors by kind: {@code bpf-map}, {@code bpf-prog}, {@code bpf_link},
   * {@code perf_event}, {@code socket}, {@code file}, ... from {@code /proc/<pid>/fd} link targets.
   */
  public Map<String, Integer> fdsByKind() throws IOException {
    Map<String, Integer> kinds = new java.util.TreeMap<>();
    try (java.util.stream.Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
      for (Path fd : fds.toList()) {
        String target;
        try {
          target = Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
          continue; // closed meanwhile
        }
        String kind;
        if (target.startsWith("anon_inode:")) {
          kind = target.substring("anon_inode:".length()).replace("[", "").replace("]", "");
        } else if (target.startsWith("socket:")) {
          kind = "socket";
        } else if (target.startsWith("pipe:")) {
          kind = "pipe";
        } else {
          kind = "file";
        }
        kinds.merge(kind, 1, Integer::sum);
      }
    }
    kinds.put("total", kinds.values().stream().mapToInt(Integer::intValue).sum());
    return kinds;
  }

  /** Heap in use after a full GC, in bytes, from {@code jcmd <pid> GC.run} and {@code GC.heap_info}. */
  public long heapUsedAfterGc() throws IOException, InterruptedException {
    jcmd("GC.run");
    String info = jcmd("GC.heap_info");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("total (\\d+)K, used (\\d+)K").matcher(info);
    long usedKb = 0;
    boolean found = false;
    while (m.find()) { // one line per generation (serial: new + tenured; G1: one heap line)
      usedKb += Long.parseLong(m.group(2));
      found = true;
    }
    if (!found) {
      throw new AssertionError("no heap usage in jcmd GC.heap_info output:\n" + info);
    }
    return usedKb * 1024;
  }

  private String jcmd(String command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("jcmd", Long.toString(pid()), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError("jcmd " + pid() + " " + command + " failed:\n" + out);
    }
    return out;
  }

  public List<String> output() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  /**
   * Waits for a command that ends by itself (e.g. {@code inspect}) and returns its exit code once all its output
   * has been read.
   */
  public int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("goscope did not exit within " + timeout + "; output:\n" + String.join("\n", output()));
    }
    reader.join(2000);
    return process.exitValue();
  }

  /** Sends SIGTERM and waits for the exit code. */
  public int terminate(Duration timeout) throws InterruptedException {
    // Through the handle: Process.destroy() also closes our end of the agent's output, losing its last lines.
    process.toHandle().destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("agent did not exit within " + timeout + " of SIGTERM; output:\n"
          + String.join("\n", output()));
    }
    reader.join(2000);
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
