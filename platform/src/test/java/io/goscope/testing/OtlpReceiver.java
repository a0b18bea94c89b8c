package io.goscope.testing;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/**
 * A minimal OTLP/HTTP receiver for tests: accepts {@code POST /v1/traces} and {@code POST /v1/metrics} with a
 * protobuf body (gzip-aware), decodes them with {@code io.opentelemetry.proto} and keeps every span and every
 * histogram data point with its resource attributes (in a {@link ReceivedTelemetry}). Can simulate a backend outage
 * by answering 503 to the next requests (of either signal).
 *
 * <pre>{@code
 * try (OtlpReceiver receiver = OtlpReceiver.start()) {
 *   // OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint(), protocol http/protobuf
 *   List<OtlpReceiver.ReceivedSpan> spans = receiver.awaitSpans(3, Duration.ofSeconds(10));
 * }
 * }</pre>
 */
public final class OtlpReceiver implements AutoCloseable {
  private static final int MAX_BODY = 64 * 1024 * 1024;

  private final HttpServer server;
  private final ExecutorService executor;
  private final AtomicInteger requests = new AtomicInteger();
  private final ReceivedTelemetry received = new ReceivedTelemetry(requests::get);
  private final AtomicInteger rejected = new AtomicInteger();
  private final AtomicInteger failNext = new AtomicInteger();
  private volatile boolean down;
  private volatile long delayMillis;
  private volatile Map<String, List<String>> lastHeaders = Map.of();

  private OtlpReceiver(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Starts a receiver on {@code 127.0.0.1} and an ephemeral port. */
  public static OtlpReceiver start() throws IOException {
    return start(0);
  }

  /** Starts a receiver on {@code 127.0.0.1:port}, e.g. again where a stopped one listened (a backend back up). */
  public static OtlpReceiver start(int port) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
    ExecutorService executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "otlp-receiver");
      t.setDaemon(true);
      return t;
    });
    OtlpReceiver receiver = new OtlpReceiver(server, executor);
    server.createContext("/v1/traces", receiver::handle);
    server.createContext("/v1/metrics", receiver::handleMetrics);
    server.setExecutor(executor);
    server.start();
    return receiver;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** Base endpoint for {@code OTEL_EXPORTER_OTLP_ENDPOINT}, e.g. {@code http://127.0.0.1:43123}. */
  public String endpoint() {
    return "http://127.0.0.1:" + port();
  }

  /** Full traces URL for {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}. */
  public String tracesEndpoint() {
    return endpoint() + "/v1/traces";
  }

  /** While true, every request is answered 503 Service Unavailable (a backend that is down). */
  public void setDown(boolean down) {
    this.down = down;
  }

  /** Makes every request wait this long before it is answered (a slow backend). */
  public void setDelay(Duration delay) {
    this.delayMillis = delay.toMillis();
  }

  /** Answers the next {@code n} requests with 503, then accepts again. */
  public void failNextRequests(int n) {
    failNext.set(n);
  }

  /** Requests received, accepted or not. */
  public int requests() {
    return requests.get();
  }

  /** Requests answered with 503. */
  public int rejectedRequests() {
    return rejected.get();
  }

  /** Headers of the last request, names in lower case (e.g. {@code content-encoding}, custom OTLP headers). */
  public Map<String, List<String>> lastHeaders() {
    return lastHeaders;
  }

  /**
   * Indexes spans by the string value of attribute {@code key} (e.g. {@code url.path}), failing when two spans share
   * a value: the end-to-end tests give every request a unique path, so a duplicate is a duplicated span.
   */
  public static Map<String, ReceivedSpan> uniqueBy(List<ReceivedSpan> spans, String key) {
    Map<String, ReceivedSpan> index = new LinkedHashMap<>();
    for (ReceivedSpan span : spans) {
      ReceivedSpan before = index.put(String.valueOf(span.attributes().get(key)), span);
      if (before != null) {
        throw new AssertionError("duplicate span for " + key + "=" + span.attributes().get(key) + ": " + before
            + " and " + span);
      }
    }
    return index;
  }

  /** A snapshot of the spans received so far, in arrival order. */
  public List<ReceivedSpan> spans() {
    return received.spans();
  }

  /**
   * Waits until at least {@code n} spans have arrived.
   *
   * @throws AssertionError with the spans received so far when the timeout passes first
   */
  public List<ReceivedSpan> awaitSpans(int n, Duration timeout) throws InterruptedException {
    return received.awaitSpans(n, timeout);
  }

  /** A snapshot of the histogram points received so far, in arrival order (every export of every series). */
  public List<ReceivedHistogramPoint> histogramPoints() {
    return received.histogramPoints();
  }

  /**
   * Waits until the histogram points received so far satisfy {@code condition}.
   *
   * @throws AssertionError with the points received so far when the timeout passes first
   */
  public List<ReceivedHistogramPoint> awaitHistogramPoints(Predicate<List<ReceivedHistogramPoint>> condition,
      Duration timeout) throws InterruptedException {
    return received.awaitHistogramPoints(condition, timeout);
  }

  /**
   * The latest point of every cumulative series (metric name, resource attributes, point attributes), i.e. the
   * current totals; null-free.
   */
  public static Map<List<Object>, ReceivedHistogramPoint> latestPerSeries(List<ReceivedHistogramPoint> points) {
    Map<List<Object>, ReceivedHistogramPoint> latest = new LinkedHashMap<>();
    for (ReceivedHistogramPoint p : points) {
      List<Object> key = List.of(p.name(), p.resourceAttributes(), p.attributes());
      ReceivedHistogramPoint previous = latest.get(key);
      if (previous == null || previous.epochNanos() <= p.epochNanos()) {
        latest.put(key, p);
      }
    }
    return latest;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    handle(exchange, false);
  }

  private void handleMetrics(HttpExchange exchange) throws IOException {
    handle(exchange, true);
  }

  private void handle(HttpExchange exchange, boolean metrics) throws IOException {
    try (exchange) {
      requests.incrementAndGet();
      if (!"POST".equals(exchange.getRequestMethod())) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      Map<String, List<String>> headers = new LinkedHashMap<>();
      exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
      lastHeaders = Map.copyOf(headers);
      byte[] body = readBody(exchange);
      if (delayMillis > 0) {
        try {
          Thread.sleep(delayMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      if (down || failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        rejected.incrementAndGet();
        exchange.sendResponseHeaders(503, -1);
        return;
      }
      byte[] response;
      try {
        if (metrics) {
          received.add(ExportMetricsServiceRequest.parseFrom(body));
          response = ExportMetricsServiceResponse.getDefaultInstance().toByteArray();
        } else {
          received.add(ExportTraceServiceRequest.parseFrom(body));
          response = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
        }
      } catch (IOException e) {
        byte[] msg = ("bad protobuf: " + e.getMessage()).getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(400, msg.length);
        exchange.getResponseBody().write(msg);
        return;
      }
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, response.length == 0 ? -1 : response.length);
      if (response.length > 0) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(response);
        }
      }
    }
  }

  private static byte[] readBody(HttpExchange exchange) throws IOException {
    InputStream in = exchange.getRequestBody();
    String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
    if (encoding != null && encoding.equalsIgnoreCase("gzip")) {
      in = new GZIPInputStream(in);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    int n;
    while ((n = in.read(buf)) > 0) {
      out.write(buf, 0, n);
      if (out.size() > MAX_BODY) {
        throw new IOException("request body larger than " + MAX_BODY);
      }
    }
    return out.toByteArray();
  }

  /**
   * One received span.
   *
   * @param kind {@code SERVER}, {@code CLIENT}, {@code INTERNAL}, {@code PRODUCER}, {@code CONSUMER} or
   *     {@code UNSPECIFIED}
   * @param attributes values are String, Boolean, Long, Double, byte[], List or Map
   * @param status {@code UNSET}, {@code OK} or {@code ERROR}
   * @param parentSpanId lowercase hex, empty for a root span
   * @param traceState the W3C tracestate of the span's context, empty when none
   * @param flags the OTLP span flags (trace flags; bits 8 and 9: whether the parent is known remote, and is)
   * @param scopeSchemaUrl the schema URL of the span's instrumentation scope, empty when none
   */
  public record ReceivedSpan(
      String name,
      String kind,
      long startEpochNanos,
      long endEpochNanos,
      Map<String, Object> attributes,
      Map<String, Object> resourceAttributes,
      String scope,
      String status,
      String statusMessage,
      String traceId,
      String spanId,
      String parentSpanId,
      String traceState,
      int flags,
      String scopeSchemaUrl) {
    public ReceivedSpan {
      requireNonNull(name, "name");
    }

    /** Whether the parent is in another process (OTLP span flags: has-is-remote and is-remote set). */
    public boolean parentRemote() {
      return (flags & 0x300) == 0x300;
    }
  }

  /**
   * One received histogram data point.
   *
   * @param temporality {@code CUMULATIVE}, {@code DELTA} or {@code UNSPECIFIED}
   * @param bucketCounts one more than {@code explicitBounds}
   * @param scopeSchemaUrl the schema URL of the metric's instrumentation scope, empty when none
   */
  public record ReceivedHistogramPoint(
      String name,
      String unit,
      String scope,
      String temporality,
      Map<String, Object> resourceAttributes,
      Map<String, Object> attributes,
      long startEpochNanos,
      long epochNanos,
      long count,
      double sum,
      List<Double> explicitBounds,
      List<Long> bucketCounts,
      String scopeSchemaUrl) {
    public ReceivedHistogramPoint {
      requireNonNull(name, "name");
    }

    /** Measurements in buckets whose lower bound is at least {@code bound} (a bound must be one of the bounds). */
    public long countAtLeast(double bound) {
      int i = explicitBounds.indexOf(bound);
      if (i < 0) {
        throw new IllegalArgumentException(bound + " is not a bucket bound: " + explicitBounds);
      }
      long n = 0;
      for (int b = i + 1; b < bucketCounts.size(); b++) {
        n += bucketCounts.get(b);
      }
      return n;
    }
  }
}
