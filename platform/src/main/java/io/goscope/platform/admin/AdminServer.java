package io.goscope.platform.admin;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.goscope.api.GoscopeException;
import io.goscope.api.Nullable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's admin endpoint on the JDK's own HTTP server: {@code /healthz} (liveness), {@code /readyz}
 * (readiness), both 200 or 503 with one line per check, and {@code /metrics} (the {@link SelfMetrics} in the
 * Prometheus text format, OpenMetrics on request). One daemon thread serves it; nothing here blocks the agent.
 */
public final class AdminServer implements AutoCloseable {
  /** Default listen address: every interface, port 6060. */
  public static final String DEFAULT_ADDRESS = ":6060";

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  private final HttpServer server;
  private final ExecutorService executor;
  private final Health health;
  private final SelfMetrics metrics;

  private AdminServer(HttpServer server, ExecutorService executor, Health health, SelfMetrics metrics) {
    this.server = server;
    this.executor = executor;
    this.health = health;
    this.metrics = metrics;
  }

  /**
   * Parses {@code GOSCOPE_ADMIN_ADDR}: {@code host:port}, {@code :port} (every interface), {@code [v6]:port};
   * empty for {@code off}, {@code none}, {@code false} or blank.
   *
   * @throws IllegalArgumentException for anything else
   */
  public static Optional<InetSocketAddress> parseAddress(@Nullable String value) {
    String v = value == null ? DEFAULT_ADDRESS : value.strip();
    if (v.isEmpty() || v.equalsIgnoreCase("off") || v.equalsIgnoreCase("none") || v.equalsIgnoreCase("false")) {
      return Optional.empty();
    }
    int colon = v.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("GOSCOPE_ADMIN_ADDR must be host:port, :port or off: " + v);
    }
    String host = v.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(v.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("GOSCOPE_ADMIN_ADDR has no valid port: " + v);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("GOSCOPE_ADMIN_ADDR port out of range: " + v);
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return Optional.of(host.isEmpty() || host.equals("*") ? new InetSocketAddress(port)
        : new InetSocketAddress(host, port));
  }

  /**
   * Binds and starts serving.
   *
   * @throws GoscopeException when the address cannot be bound
   */
  public static AdminServer start(InetSocketAddress address, Health health, SelfMetrics metrics) {
    requireNonNull(address, "address");
    HttpServer server;
    try {
      server = HttpServer.create(address, 16);
    } catch (IOException e) {
      throw new GoscopeException("bind admin endpoint " + address + ": " + e.getMessage(), e);
    }
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "goscope-admin");
      t.setDaemon(true);
      return t;
    });
    AdminServer admin = new AdminServer(server, executor, requireNonNull(health, "health"),
        requireNonNull(metrics, "metrics"));
    server.createContext("/healthz", ex -> admin.serveHealth(ex, health.live()));
    server.createContext("/readyz", ex -> admin.serveHealth(ex, health.ready()));
    server.createContext("/metrics", admin::serveMetrics);
    server.setExecutor(executor);
    server.start();
    log.info("admin endpoint listening addr={}:{} paths=/healthz,/readyz,/metrics",
        server.getAddress().getHostString(), server.getAddress().getPort());
    return admin;
  }

  /** The bound address (the real port when 0 was asked for). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  private void serveHealth(HttpExchange ex, List<Health.Result> results) throws IOException {
    try (ex) {
      if (!isGetOrHead(ex)) {
        return;
      }
      boolean ok = Health.allOk(results);
      StringBuilder sb = new StringBuilder(ok ? "ok\n" : "unhealthy\n");
      for (Health.Result r : results) {
        sb.append(r.ok() ? "[+] " : "[-] ").append(r.name()).append(": ").append(r.detail()).append('\n');
      }
      send(ex, ok ? 200 : 503, "text/plain; charset=utf-8", sb.toString());
    }
  }

  private void serveMetrics(HttpExchange ex) throws IOException {
    try (ex) {
      if (!isGetOrHead(ex)) {
        return;
      }
      boolean om = PrometheusText.wantsOpenMetrics(ex.getRequestHeaders().getFirst("Accept"));
      String body;
      try {
        body = PrometheusText.write(metrics.collect(), om);
      } catch (RuntimeException e) {
        log.warn("metrics collection failed reason={}", e.toString());
        send(ex, 500, "text/plain; charset=utf-8", "collection failed: " + e + "\n");
        return;
      }
      send(ex, 200, om ? PrometheusText.OPENMETRICS_CONTENT_TYPE : PrometheusText.TEXT_CONTENT_TYPE, body);
    }
  }

  private static boolean isGetOrHead(HttpExchange ex) throws IOException {
    String m = ex.getRequestMethod();
    if (m.equals("GET") || m.equals("HEAD")) {
      return true;
    }
    ex.getResponseHeaders().set("Allow", "GET, HEAD");
    ex.sendResponseHeaders(405, -1);
    return false;
  }

  private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", contentType);
    boolean head = ex.getRequestMethod().equals("HEAD");
    ex.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  /** Stops serving. Idempotent. */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
