package io.goscope.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A Go HTTP server process under test, listening on a free loopback port. */
final class GoServer implements AutoCloseable {
  private final Process process;
  private final int port;
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  private GoServer(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  static GoServer start(Path binary, List<String> prefix) throws IOException, InterruptedException {
    return start(binary, prefix, List.of());
  }

  /**
   * Starts {@code prefix... binary -addr 127.0.0.1:<free port> args...} and waits until the port accepts
   * connections.
   */
  static GoServer start(Path binary, List<String> prefix, List<String> args)
      throws IOException, InterruptedException {
    int port = freePort();
    List<String> cmd = new java.util.ArrayList<>(prefix);
    cmd.add(binary.toString());
    cmd.add("-addr");
    cmd.add("127.0.0.1:" + port);
    cmd.addAll(args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(binary.resolveSibling(binary.getFileName() + ".log").toFile()).start();
    GoServer s = new GoServer(p, port);
    try {
      s.awaitListening(Duration.ofSeconds(10));
    } catch (IOException | InterruptedException | RuntimeException e) {
      s.close(); // the caller never gets this object: nothing may outlive the failed start
      throw e;
    }
    return s;
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void awaitListening(Duration timeout) throws InterruptedException, IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("Go server exited with " + process.exitValue());
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new IOException("Go server not listening on " + port + " after " + timeout);
  }

  /** The pid of the server (the last process of the command line, e.g. under unshare it differs). */
  long launcherPid() {
    return process.pid();
  }

  int port() {
    return port;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** {@code scheme://127.0.0.1:<port><path>}. */
  URI uri(String scheme, String path) {
    return URI.create(scheme + "://127.0.0.1:" + port + path);
  }

  int get(String path) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(uri("http", path))
        .timeout(Duration.ofSeconds(10)).GET().build();
    return client.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }
}
