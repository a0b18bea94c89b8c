package io.goscope.plugins.otlp;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.zip.GZIPInputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * An OTLP/HTTP traces endpoint that answers from a script: each request takes the next scripted {@link Reply}
 * (status, headers, body), and once the script is used up answers 200 with an empty
 * {@code ExportTraceServiceResponse}. Records each request's arrival time, headers and decoded span count. Plain
 * HTTP, or HTTPS with a given context, optionally requiring a client certificate (mTLS).
 */
final class ScriptedBackend implements AutoCloseable {
  /** One scripted answer. */
  record Reply(int status, Map<String, String> headers, byte[] body) {
    static Reply of(int status) {
      return new Reply(status, Map.of(), new byte[0]);
    }

    static Reply of(int status, String header, String value) {
      return new Reply(status, Map.of(header, value), new byte[0]);
    }
  }

  /** One received request. */
  record Request(long nanoTime, Map<String, List<String>> headers, int spans) {}

  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(2);
  private final ConcurrentLinkedQueue<Reply> script = new ConcurrentLinkedQueue<>();
  private final List<Request> requests = new ArrayList<>();

  private ScriptedBackend(HttpServer server) {
    this.server = server;
    server.createContext("/v1/traces", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  static ScriptedBackend http(Reply... replies) throws IOException {
    ScriptedBackend b = new ScriptedBackend(HttpServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0));
    b.script.addAll(List.of(replies));
    return b;
  }

  static ScriptedBackend https(SSLContext context, boolean requireClientCert) throws IOException {
    HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    s.setHttpsConfigurator(new HttpsConfigurator(context) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters p = context.getDefaultSSLParameters();
        p.setNeedClientAuth(requireClientCert);
        params.setSSLParameters(p);
      }
    });
    return new ScriptedBackend(s);
  }

  String tracesEndpoint() {
    String scheme = server instanceof HttpsServer ? "https" : "http";
    return scheme + "://127.0.0.1:" + server.getAddress().getPort() + "/v1/traces";
  }

  synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  /** Spans in requests answered 200. */
  synchronized int acceptedSpans() {
    return accepted;
  }

  private int accepted;

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      InputStream in = ex.getRequestBody();
      if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
        in = new GZIPInputStream(in);
      }
      byte[] body = in.readAllBytes();
      int spans = ExportTraceServiceRequest.parseFrom(body).getResourceSpansList().stream()
          .flatMap(r -> r.getScopeSpansList().stream()).mapToInt(s -> s.getSpansCount()).sum();
      Map<String, List<String>> headers = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      headers.putAll(ex.getRequestHeaders());
      Reply reply = script.poll();
      if (reply == null) {
        reply = new Reply(200, Map.of("Content-Type", "application/x-protobuf"),
            ExportTraceServiceResponse.getDefaultInstance().toByteArray());
      }
      synchronized (this) {
        requests.add(new Request(System.nanoTime(), headers, spans));
        if (reply.status() == 200) {
          accepted += spans;
        }
      }
      reply.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
      ex.sendResponseHeaders(reply.status(), reply.body().length == 0 ? -1 : reply.body().length);
      if (reply.body().length > 0) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(reply.body());
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
