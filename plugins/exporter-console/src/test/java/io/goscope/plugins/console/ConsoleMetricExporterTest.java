package io.goscope.plugins.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.TelemetrySink;
import io.goscope.platform.export.MetricPipeline;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import io.opentelemetry.sdk.resources.Resource;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ConsoleMetricExporterTest {
  private static final HistogramInstrument DURATION = new HistogramInstrument("http.server.request.duration", "s",
      "", List.of(0.005, 0.01, 0.1), "io.goscope.nethttp");

  @Test
  void printsOneCompactLinePerHistogramPoint() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ConsoleMetricExporter exporter = new ConsoleMetricExporter(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    MetricPipeline pipeline = MetricPipeline.builder().addExporter(exporter).exportInterval(Duration.ofHours(1))
        .build();
    TelemetrySink sink = pipeline.sinkFor(Resource.create(Attributes.of(
        AttributeKey.stringKey("service.name"), "checkout", AttributeKey.longKey("process.pid"), 4242L)),
        span -> { });
    Attributes ok = Attributes.of(AttributeKey.stringKey("http.request.method"), "GET",
        AttributeKey.longKey("http.response.status_code"), 200L);
    sink.histogram(DURATION, 0.002, ok);
    sink.histogram(DURATION, 0.041, ok);
    assertTrue(pipeline.shutdown().join(10, TimeUnit.SECONDS).isSuccess());
    assertEquals("metric checkout pid=4242 http.server.request.duration count=2 sum=0.043s min=0.002s max=0.041s"
        + " http.request.method=GET http.response.status_code=200" + System.lineSeparator(),
        bytes.toString(StandardCharsets.UTF_8));
  }

  @Test
  void consoleExtensionProvidesMetrics() {
    assertTrue(new ConsoleTelemetryExporter().createMetricExporter(
        DefaultConfigProperties.createFromMap(Map.of())) instanceof ConsoleMetricExporter);
  }
}
