package io.goscope.plugins.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.TelemetryPipeline;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConsoleTraceExporterTest {
  private static final long OFFSET = 1_704_190_530_000_000_000L - 5_000_000_000L;
  private static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
  private static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
  private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
  private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
  private final AtomicLong now = new AtomicLong();

  private static Resource service(String name) {
    return Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), name));
  }

  private static ProbeSpan.Builder span(String name, SpanKind kind, String id, String parent, long startMicros,
      long endMicros) {
    return ProbeSpan.builder(name, "io.goscope.nethttp").kind(kind).traceId(TRACE).spanId(id).parentSpanId(parent)
        .timestamps(5_000_000_000L + startMicros * 1000, 5_000_000_000L + endMicros * 1000);
  }

  private String printed() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /** The front's request, its three calls and the back's spans, sent in the order a pipeline could deliver them. */
  private static void sendCheckout(TelemetrySink front, TelemetrySink back) {
    back.span(span("GET", SpanKind.SERVER, "b000000000000001", "a000000000000002", 600, 2_800).parentRemote(true)
        .attributes(Attributes.of(URL_PATH, "/inventory/1", STATUS, 200L)).build());
    front.span(span("GET", SpanKind.CLIENT, "a000000000000002", "a000000000000001", 100, 3_200)
        .attributes(Attributes.of(URL_FULL, "http://127.0.0.1:8081/inventory/1", STATUS, 200L)).build());
    front.span(span("GET", SpanKind.CLIENT, "a000000000000003", "a000000000000001", 3_300, 4_350)
        .attributes(Attributes.of(URL_FULL, "http://127.0.0.1:8081/recommendations/1", STATUS, 500L))
        .status(StatusCode.ERROR, "").build());
    front.span(span("GET", SpanKind.CLIENT, "a000000000000004", "a000000000000001", 3_400, 3_500)
        .attributes(Attributes.of(URL_FULL, "http://127.0.0.1:1/down", ERROR_TYPE, "connection refused"))
        .status(StatusCode.ERROR, "dial tcp").build());
    front.span(span("GET /checkout/{id}", SpanKind.SERVER, "a000000000000001", "", 0, 12_400)
        .attributes(Attributes.of(URL_PATH, "/checkout/1", STATUS, 200L)).build());
  }

  private static final List<String> CHECKOUT = List.of(
      "trace 0af7651916cd43dd8448eb211c80319c  2 services, 5 spans, 12.4 ms",
      "└─ demo-front  SERVER  GET /checkout/{id}                               12.4 ms  200",
      "   ├─ demo-front  CLIENT  GET http://127.0.0.1:8081/inventory/1         3.10 ms  200",
      "   │  └─ demo-back  SERVER  GET /inventory/1                            2.20 ms  200",
      "   ├─ demo-front  CLIENT  GET http://127.0.0.1:8081/recommendations/1   1.05 ms  ERROR 500",
      "   └─ demo-front  CLIENT  GET http://127.0.0.1:1/down                  0.100 ms  ERROR connection refused",
      "");

  @Test
  void printsATraceOnceItsRootHasEndedAndItWentQuiet() {
    ConsoleTraceExporter exporter = ConsoleTraceExporter.builder(out).ascii(false)
        .quietPeriod(Duration.ofMillis(500)).clock(now::get, false).build();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    sendCheckout(pipeline.sinkFor(service("demo-front")), pipeline.sinkFor(service("demo-back")));
    assertTrue(pipeline.forceFlush().join(10, TimeUnit.SECONDS).isSuccess());
    now.set(TimeUnit.MILLISECONDS.toNanos(499));
    exporter.printReady();
    assertEquals("", printed(), "still quiet for less than 500 ms");
    now.set(TimeUnit.MILLISECONDS.toNanos(500));
    exporter.printReady();
    assertEquals(String.join(System.lineSeparator(), CHECKOUT) + System.lineSeparator(), printed());
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
    assertEquals(String.join(System.lineSeparator(), CHECKOUT) + System.lineSeparator(), printed(),
        "printed once");
  }

  @Test
  void shutdownPrintsWhatIsHeldAndReportsDrops() {
    ConsoleTraceExporter exporter = ConsoleTraceExporter.builder(out).ascii(true).maxTraces(1)
        .clock(now::get, false).build();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    TelemetrySink sink = pipeline.sinkFor(Resource.empty());
    // a child whose parent has not come yet, and a span of a second trace the buffer has no room for
    sink.span(span("GET", SpanKind.CLIENT, "a000000000000002", "a000000000000001", 100, 200).build());
    sink.span(ProbeSpan.builder("other", "x").kind(SpanKind.INTERNAL).traceId("1af7651916cd43dd8448eb211c80319c")
        .spanId("c000000000000001").timestamps(5_000_000_000L, 5_000_001_000L).build());
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
    assertEquals(String.join(System.lineSeparator(),
        "trace 0af7651916cd43dd8448eb211c80319c  1 service, 1 span, 0.100 ms",
        "`- -  CLIENT  GET  0.100 ms  UNSET  (parent a000000000000001 not seen)",
        "",
        "console: 1 spans dropped so far: the trace buffer was full (at most 1 traces and 8192 spans held)",
        ""), printed());
    assertEquals(1, exporter.droppedSpans());
    assertTrue(exporter.shutdown().isSuccess(), "idempotent");
    assertFalse(exporter.export(List.of()).isSuccess(), "nothing after shutdown");
  }

  @Test
  void itsOwnThreadPrintsAReadyTraceWithoutFurtherSpans() throws Exception {
    ConsoleTraceExporter exporter = ConsoleTraceExporter.builder(out).ascii(false)
        .quietPeriod(Duration.ofMillis(50)).build();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    try {
      sendCheckout(pipeline.sinkFor(service("demo-front")), pipeline.sinkFor(service("demo-back")));
      assertTrue(pipeline.forceFlush().join(10, TimeUnit.SECONDS).isSuccess());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (printed().isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(String.join(System.lineSeparator(), CHECKOUT) + System.lineSeparator(), printed());
    } finally {
      pipeline.shutdown().join(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void flushPrintsUnfinishedTraces() {
    ConsoleTraceExporter exporter = ConsoleTraceExporter.builder(out).ascii(true).clock(now::get, false).build();
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    pipeline.sinkFor(service("s")).span(span("GET", SpanKind.SERVER, "a000000000000001", "", 0, 1000)
        .attributes(Attributes.of(URL_PATH, "/x", STATUS, 404L)).build());
    assertTrue(pipeline.forceFlush().join(10, TimeUnit.SECONDS).isSuccess());
    assertTrue(exporter.flush().isSuccess());
    assertEquals(String.join(System.lineSeparator(),
        "trace 0af7651916cd43dd8448eb211c80319c  1 service, 1 span, 1.00 ms",
        "`- s  SERVER  GET /x  1.00 ms  404",
        "",
        ""), printed());
    pipeline.shutdown().join(10, TimeUnit.SECONDS);
  }

  @Test
  void glyphsFollowTheOutputCharset() {
    assertEquals(TraceTree.Glyphs.UNICODE, ConsoleTraceExporter.glyphsFor(StandardCharsets.UTF_8));
    assertEquals(TraceTree.Glyphs.ASCII, ConsoleTraceExporter.glyphsFor(StandardCharsets.US_ASCII));
    assertEquals(TraceTree.Glyphs.ASCII, ConsoleTraceExporter.glyphsFor(StandardCharsets.ISO_8859_1));
  }

  @Test
  void theConsoleExtensionPrintsTreesUnlessToldToPrintLines() {
    ConsoleTelemetryExporter extension = new ConsoleTelemetryExporter();
    SpanExporter tree = extension.createSpanExporter(DefaultConfigProperties.createFromMap(Map.of()));
    assertTrue(tree instanceof ConsoleTraceExporter, tree.toString());
    assertEquals("ConsoleTraceExporter{quietPeriod=PT1S, maxTraces=512, maxSpans=8192}", tree.toString());
    tree.shutdown();
    SpanExporter quick = extension.createSpanExporter(DefaultConfigProperties.createFromMap(Map.of(
        ConsoleTelemetryExporter.QUIET_PERIOD_PROPERTY, "200ms")));
    assertEquals("ConsoleTraceExporter{quietPeriod=PT0.2S, maxTraces=512, maxSpans=8192}", quick.toString());
    quick.shutdown();
    assertTrue(extension.createSpanExporter(DefaultConfigProperties.createFromMap(Map.of(
        ConsoleTelemetryExporter.FORMAT_PROPERTY, "lines"))) instanceof ConsoleSpanExporter);
    ConfigurationException e = assertThrows(ConfigurationException.class, () -> extension.createSpanExporter(
        DefaultConfigProperties.createFromMap(Map.of(ConsoleTelemetryExporter.FORMAT_PROPERTY, "json"))));
    assertTrue(e.getMessage().contains("must be tree or lines, not 'json'"), e.getMessage());
  }
}
