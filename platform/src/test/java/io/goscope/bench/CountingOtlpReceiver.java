package io.goscope.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The benchmark's OTLP/HTTP backend, in its own process: decodes every trace request (protobuf) and counts spans;
 * {@code GET /count} answers the count. Metrics requests are accepted and ignored. Usage: {@code <port>}.
 */
final class CountingOtlpReceiver {
  private CountingOtlpReceiver() {}

  public static void main(String[] args) throws IOException {
    AtomicLong spans = new AtomicLong();
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(),
        Integer.parseInt(args[0])), 64);
    server.createContext("/v1/traces", ex -> {
      try (ex) {
        java.io.InputStream body = ex.getRequestBody();
        if ("gzip".equalsIgnoreCase(ex.getRequestHeaders().getFirst("Content-Encoding"))) {
          body = new java.util.zip.GZIPInputStream(body);
        }
        ExportTraceServiceRequest req = ExportTraceServiceRequest.parseFrom(body);
        long n = 0;
        for (ResourceSpans rs : req.getResourceSpansList()) {
          for (ScopeSpans ss : rs.getScopeSpansList()) {
            n += ss.getSpansCount();
          }
        }
        spans.addAndGet(n);
        byte[] response = io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse.getDefaultInstance()
            .toByteArray();
        ex.getResponseHeaders().set("Content-Type", "application/x-protobuf");
        ex.sendResponseHeaders(200, response.length == 0 ? -1 : response.length);
      }
    });
    server.createContext("/v1/metrics", ex -> {
      try (ex) {
        ex.getRequestBody().readAllBytes();
        ex.sendResponseHeaders(200, -1);
      }
    });
    server.createContext("/count", ex -> reply(ex, Long.toString(spans.get())));
    server.setExecutor(Executors.newFixedThreadPool(2));
    server.start();
    System.out.println("counting receiver on port " + server.getAddress().getPort());
  }

  private static void reply(HttpExchange ex, String body) throws IOException {
    try (ex) {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, b.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(b);
      }
    }
  }
}
