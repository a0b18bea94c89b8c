package io.goscope.plugins.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.platform.export.KernelClock;
import io.goscope.platform.export.TelemetryPipeline;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.resources.Resource;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ConsoleSpanExporterTest {
  // 2024-01-02T10:15:30Z in epoch nanoseconds, minus a kernel time of 5 s.
  private static final long OFFSET = 1_704_190_530_000_000_000L - 5_000_000_000L;

  @Test
  void printsOneCompactLinePerSpan() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ConsoleSpanExporter exporter =
        new ConsoleSpanExporter(new PrintStream(bytes, true, StandardCharsets.UTF_8), ZoneOffset.UTC);
    TelemetryPipeline pipeline = TelemetryPipeline.builder().addExporter(exporter)
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    pipeline.sinkFor(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "checkout")))
        .span(ProbeSpan.builder("GET /users/{id}", "io.goscope.nethttp")
            .kind(SpanKind.SERVER)
            .timestamps(5_012_000_000L, 5_024_500_000L)
            .traceId("0af7651916cd43dd8448eb211c80319c")
            .spanId("b7ad6b7169203331")
            .parentSpanId("00f067aa0ba902b7")
            .attributes(Attributes.of(
                AttributeKey.stringKey("url.path"), "/users/42\n" + "x".repeat(200),
                AttributeKey.stringKey("http.request.method"), "GET",
                AttributeKey.longKey("http.response.status_code"), 500L))
            .status(StatusCode.ERROR, "boom")
            .build());
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());

    String[] lines = bytes.toString(StandardCharsets.UTF_8).split(System.lineSeparator());
    assertEquals(1, lines.length);
    String expectedPath = "/users/42 " + "x".repeat(ConsoleSpanExporter.MAX_VALUE_LENGTH - 11) + "…";
    assertEquals("10:15:30.012 checkout GET /users/{id} SERVER 12.500ms ERROR(boom) http.request.method=GET "
        + "http.response.status_code=500 url.path=" + expectedPath
        + " trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203331 parent=00f067aa0ba902b7", lines[0]);
  }

  @Test
  void rootSpanHasNoParentAndUnsetStatus() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TelemetryPipeline pipeline = TelemetryPipeline.builder()
        .addExporter(new ConsoleSpanExporter(new PrintStream(bytes, true, StandardCharsets.UTF_8), ZoneOffset.UTC))
        .clock(KernelClock.fixedOffset(OFFSET)).build();
    pipeline.sinkFor(Resource.empty()).span(ProbeSpan.builder("SELECT", "io.goscope.sql")
        .kind(SpanKind.CLIENT).timestamps(5_000_000_000L, 5_000_000_700L)
        .traceId("0af7651916cd43dd8448eb211c80319c").spanId("b7ad6b7169203331").build());
    pipeline.shutdown().join(10, TimeUnit.SECONDS);
    assertEquals("10:15:30.000 - SELECT CLIENT 0.000ms UNSET trace=0af7651916cd43dd8448eb211c80319c "
        + "span=b7ad6b7169203331" + System.lineSeparator(), bytes.toString(StandardCharsets.UTF_8));
  }

  @Test
  void extensionIsNamedConsole() {
    ConsoleTelemetryExporter extension = new ConsoleTelemetryExporter();
    assertEquals("console", extension.name());
    assertTrue(extension.createSpanExporter(DefaultConfigProperties.createFromMap(Map.of(
        ConsoleTelemetryExporter.FORMAT_PROPERTY, "lines"))) instanceof ConsoleSpanExporter);
  }
}
