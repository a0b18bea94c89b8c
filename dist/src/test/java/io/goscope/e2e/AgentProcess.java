package io.goscope.e2e;

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

/** {@code bin/goscope agent} run the way users run it: a separate JVM, configured by environment variables. */
final class AgentProcess implements AutoCloseable {
  private final Process process;
  private final List<String> lines = new ArrayList<>();
  private final Thread reader;

  private AgentProcess(Process process) {
    this.process = process;
    this.reader = new Thread(this::pump, "agent-output");
    reader.setDaemon(true);
    reader.start();
  }

  static Path home() {
    String home = System.getProperty("goscope.home");
    Path p = home != null ? Path.of(home) : Path.of("target/goscope");
    if (!Files.isExecutable(p.resolve("bin/goscope"))) {
      throw new IllegalStateException("distribution not built: " + p.resolve("bin/goscope"));
    }
    return p;
  }

  static AgentProcess start(Map<String, String> env, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(home().resolve("bin/goscope").toString());
    cmd.addAll(List.of(args.length == 0 ? new String[] {"agent"} : args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("OTEL_") || k.startsWith("GOSCOPE_") || k.equals("GO_APPS"));
    pb.environment().putAll(env);
    return new AgentProcess(pb.start());
  }

  private void pump() {
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        synchronized (lines) {
          lines.add(line);
          lines.notifyAll();
        }
        if (Boolean.getBoolean("goscope.e2e.echo")) {
          System.out.println("[agent] " + line);
        }
      }
    } catch (IOException ignored) {
      // process ended
    }
  }

  /** Waits for an output line matching {@code p}; returns it, or throws with the output so far. */
  String awaitLine(Predicate<String> p, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lines) {
      int seen = 0;
      while (true) {
        for (; seen < lines.size(); seen++) {
          if (p.test(lines.get(seen))) {
            return lines.get(seen);
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0 || (!process.isAlive() && seen == lines.size())) {
          throw new AssertionError("agent output has no expected line within " + timeout + "; output:\n"
              + String.join("\n", lines));
        }
        lines.wait(Math.max(1, Math.min(200, left / 1_000_000)));
      }
    }
  }

  List<String> output() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  long pid() {
    return process.pid();
  }

  /** Sends SIGTERM and waits for the exit code. */
  int terminate(Duration timeout) throws InterruptedException {
    process.destroy();
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
