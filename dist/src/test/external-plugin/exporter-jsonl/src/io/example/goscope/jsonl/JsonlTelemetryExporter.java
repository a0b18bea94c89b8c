package io.example.goscope.jsonl;

import io.goscope.api.TelemetryExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.nio.file.Path;
import org.pf4j.Extension;

/** The {@code jsonl} exporter: spans appended to {@code JSONL_EXPORTER_FILE}, one JSON object per line. */
@Extension
public final class JsonlTelemetryExporter implements TelemetryExporter {
  @Override
  public String name() {
    return "jsonl";
  }

  @Override
  public SpanExporter createSpanExporter(ConfigProperties config) {
    String file = config.getString("jsonl.exporter.file");
    if (file == null || file.isBlank()) {
      throw new IllegalArgumentException("JSONL_EXPORTER_FILE is not set");
    }
    return new JsonlSpanExporter(Path.of(file));
  }
}
