package io.goscope.plugins.otlp;

import static io.goscope.plugins.otlp.ExportFixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.plugins.otlp.ScriptedBackend.Reply;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.TelemetryPipeline;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OTLP/HTTP exporter against backends that answer badly, each handled as the OTLP specification says (by the
 * SDK's OkHttp sender) and each counted by the pipeline: 400 is not retried and fails the batch; 503 and 429 are
 * retried, after the {@code Retry-After} delay when given; a malformed answer and a wrong TLS certificate fail the
 * batch with their own reason. Also: TLS with the backend's CA from a file, mTLS with the client's key and
 * certificate from files, gzip, and headers from {@code GOSCOPE_OTLP_HEADERS_FILE}.
 */
class OtlpResponsesTest {
  @TempDir Path dir;

  private static TelemetryPipeline pipeline(SpanExporter exporter) {
    return TelemetryPipeline.builder().addExporter(exporter).clock(KernelClock.fixedOffset(0))
        .scheduleDelay(Duration.ofMillis(20)).exporterTimeout(Duration.ofSeconds(20))
        .retryMaxElapsed(Duration.ZERO).build();
  }

  private static SpanExporter exporter(String endpoint, Map<String, String> extra) {
    Map<String, String> props = new HashMap<>(extra);
    props.put("otel.exporter.otlp.traces.endpoint", endpoint);
    props.put("otel.exporter.otlp.protocol", "http/protobuf");
    props.putIfAbsent("otel.exporter.otlp.timeout", "10000");
    return new OtlpTelemetryExporter().createSpanExporter(config(props));
  }

  private static void send(TelemetryPipeline pipeline, int n) {
    for (int i = 0; i < n; i++) {
      pipeline.sinkFor(Resource.empty()).span(ProbeSpan.builder("s" + i, "io.goscope.test").build());
    }
  }

  private static void await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeout);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void badRequestIsNotRetriedAndCounted() throws Exception {
    try (ScriptedBackend backend = ScriptedBackend.http(Reply.of(400), Reply.of(400))) {
      TelemetryPipeline pipeline = pipeline(exporter(backend.tracesEndpoint(), Map.of()));
      send(pipeline, 3);
      await(() -> pipeline.failedSpans() == 3, Duration.ofSeconds(10));
      Thread.sleep(500);
      assertEquals(1, backend.requests().size(), "400 is not retried");
      assertEquals(Map.of("http_400", 3L), pipeline.failedSpansByReason());
      assertEquals(Map.of("http_400", 1L), pipeline.exportsByOutcome());
      assertEquals(0, pipeline.exportedSpans());
      pipeline.close();
    }
  }

  @Test
  void unavailableWithRetryAfterIsRetriedAfterTheDelay() throws Exception {
    try (ScriptedBackend backend = ScriptedBackend.http(Reply.of(503, "Retry-After", "2"))) {
      TelemetryPipeline pipeline = pipeline(exporter(backend.tracesEndpoint(), Map.of()));
      send(pipeline, 2);
      await(() -> pipeline.exportedSpans() == 2, Duration.ofSeconds(15));
      List<ScriptedBackend.Request> requests = backend.requests();
      assertEquals(2, requests.size());
      long gapMillis = (requests.get(1).nanoTime() - requests.get(0).nanoTime()) / 1_000_000;
      assertTrue(gapMillis >= 1900, "retried after Retry-After: 2 s, not sooner: " + gapMillis + " ms");
      assertEquals(2, backend.acceptedSpans());
      assertEquals(Map.of("success", 1L), pipeline.exportsByOutcome(), "the sender's retries are one export");
      assertEquals(0, pipeline.failedSpans());
      pipeline.close();
    }
  }

  @Test
  void tooManyRequestsIsRetried() throws Exception {
    try (ScriptedBackend backend = ScriptedBackend.http(Reply.of(429, "Retry-After", "1"), Reply.of(429))) {
      TelemetryPipeline pipeline = pipeline(exporter(backend.tracesEndpoint(), Map.of()));
      send(pipeline, 1);
      await(() -> pipeline.exportedSpans() == 1, Duration.ofSeconds(15));
      assertEquals(3, backend.requests().size());
      assertEquals(1, backend.acceptedSpans());
      assertEquals(0, pipeline.failedSpans());
      pipeline.close();
    }
  }

  @Test
  void throttlingThatOutlastsTheSendersRetriesIsHeldByThePipeline() throws Exception {
    // Without Retry-After the sender gives up after 5 attempts (its default policy); the 6th answer is a 503 too.
    Reply[] busy = new Reply[6];
    java.util.Arrays.fill(busy, Reply.of(503));
    try (ScriptedBackend backend = ScriptedBackend.http(busy)) {
      TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter(backend.tracesEndpoint(),
          Map.of())).clock(KernelClock.fixedOffset(0)).scheduleDelay(Duration.ofMillis(20))
          .retryBackoff(Duration.ofMillis(100), Duration.ofMillis(200)).build();
      send(pipeline, 4);
      await(() -> pipeline.exportedSpans() == 4, Duration.ofSeconds(30));
      assertEquals(Map.of("http_503", 1L, "success", 1L), pipeline.exportsByOutcome());
      assertEquals(7, backend.requests().size());
      assertEquals(4, backend.acceptedSpans());
      assertEquals(0, pipeline.failedSpans());
      pipeline.close();
    }
  }

  @Test
  void malformedAnswersAreCounted() throws Exception {
    // A 400 whose body is not a google.rpc.Status still fails the batch as http_400.
    try (ScriptedBackend backend = ScriptedBackend.http(new Reply(400,
        Map.of("Content-Type", "application/x-protobuf"), new byte[] {(byte) 0xff, 0x13, 0x37, 0x00, 0x7f}))) {
      TelemetryPipeline pipeline = pipeline(exporter(backend.tracesEndpoint(), Map.of()));
      send(pipeline, 1);
      await(() -> pipeline.failedSpans() == 1, Duration.ofSeconds(10));
      assertEquals(Map.of("http_400", 1L), pipeline.failedSpansByReason());
      pipeline.close();
    }
    // Not HTTP at all: the connection yields garbage bytes.
    try (ServerSocket garbage = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread t = new Thread(() -> {
        while (!garbage.isClosed()) {
          try (Socket s = garbage.accept()) {
            InputStream in = s.getInputStream();
            in.read(new byte[8192]);
            OutputStream out = s.getOutputStream();
            out.write("\u0000\u00ffNOT-HTTP garbage\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
          } catch (IOException e) {
            return;
          }
        }
      });
      t.setDaemon(true);
      t.start();
      TelemetryPipeline pipeline = pipeline(exporter("http://127.0.0.1:" + garbage.getLocalPort() + "/v1/traces",
          Map.of("otel.exporter.otlp.timeout", "3000")));
      send(pipeline, 2);
      await(() -> pipeline.failedSpans() == 2, Duration.ofSeconds(20));
      assertEquals(Map.of("io", 2L), pipeline.failedSpansByReason());
      assertEquals(0, pipeline.exportedSpans());
      pipeline.close();
    }
  }

  @Test
  void wrongServerCertificateFailsAsTls() throws Exception {
    TestCerts certs = TestCerts.create(dir);
    try (ScriptedBackend backend = ScriptedBackend.https(certs.serverContext(), false)) {
      TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter(backend.tracesEndpoint(),
          Map.of("otel.exporter.otlp.certificate", certs.otherCaCert.toString()))).clock(KernelClock.fixedOffset(0))
          .scheduleDelay(Duration.ofMillis(20)).build(); // default retry window: tls is not retryable anyway
      send(pipeline, 2);
      await(() -> pipeline.failedSpans() == 2, Duration.ofSeconds(20));
      assertEquals(Map.of("tls", 2L), pipeline.failedSpansByReason());
      assertEquals(Map.of("tls", 1L), pipeline.exportsByOutcome());
      assertEquals(0, backend.requests().size());
      pipeline.close();
    }
  }

  @Test
  void mutualTlsGzipAndHeadersFromAFile() throws Exception {
    TestCerts certs = TestCerts.create(dir);
    Path headers = dir.resolve("headers");
    Files.writeString(headers, "# from a Secret\nx-api-key=s3cr%3Dt\nx-tenant=blue,x-other=1\n");
    try (ScriptedBackend backend = ScriptedBackend.https(certs.serverContext(), true)) {
      Map<String, String> tls = Map.of(
          "otel.exporter.otlp.certificate", certs.caCert.toString(),
          "otel.exporter.otlp.client.key", certs.clientKey.toString(),
          "otel.exporter.otlp.client.certificate", certs.clientCert.toString(),
          "otel.exporter.otlp.compression", "gzip",
          "otel.exporter.otlp.headers", "x-from-env=yes",
          HeadersFile.PROPERTY, headers.toString());
      TelemetryPipeline pipeline = pipeline(exporter(backend.tracesEndpoint(), tls));
      send(pipeline, 3);
      await(() -> pipeline.exportedSpans() == 3, Duration.ofSeconds(15));
      ScriptedBackend.Request r = backend.requests().get(0);
      assertEquals(List.of("gzip"), r.headers().get("Content-Encoding"));
      assertEquals(List.of("s3cr=t"), r.headers().get("x-api-key"));
      assertEquals(List.of("blue"), r.headers().get("x-tenant"));
      assertEquals(List.of("yes"), r.headers().get("x-from-env"));

      Files.writeString(headers, "x-api-key=rotated\n"); // a rotated Secret is picked up
      Files.setLastModifiedTime(headers, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()
          + 5000));
      send(pipeline, 1);
      await(() -> pipeline.exportedSpans() == 4, Duration.ofSeconds(15));
      List<ScriptedBackend.Request> requests = backend.requests();
      assertEquals(List.of("rotated"), requests.get(requests.size() - 1).headers().get("x-api-key"));
      pipeline.close();

      // Without the client certificate the server refuses the handshake.
      Map<String, String> noClient = new HashMap<>(tls);
      noClient.remove("otel.exporter.otlp.client.key");
      noClient.remove("otel.exporter.otlp.client.certificate");
      TelemetryPipeline refused = pipeline(exporter(backend.tracesEndpoint(), noClient));
      send(refused, 1);
      await(() -> refused.failedSpans() == 1, Duration.ofSeconds(20));
      assertTrue(refused.failedSpansByReason().containsKey("tls") || refused.failedSpansByReason().containsKey("io"),
          refused.failedSpansByReason().toString());
      assertTrue(refused.shutdown().join(10, TimeUnit.SECONDS).isDone());
    }
  }

  @Test
  void headersFileFormat() {
    assertEquals(Map.of("a", "1", "b", "x y", "c", "3"), HeadersFile.parse("a=1, b=x%20y\n\n# c=2\nc=3"));
  }
}
