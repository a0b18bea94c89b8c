package io.example.goscope.jsonl;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;

/** Appends {"service":..,"name":..,"kind":..,"traceId":..,"attributes":{..}} per span. */
final class JsonlSpanExporter implements SpanExporter {
  private final Path file;

  JsonlSpanExporter(Path file) {
    this.file = file;
  }

  @Override
  public synchronized CompletableResultCode export(Collection<SpanData> spans) {
    StringBuilder sb = new StringBuilder();
    for (SpanData s : spans) {
      sb.append("{\"service\":").append(quote(s.getResource().getAttribute(AttributeKey.stringKey("service.name"))))
          .append(",\"name\":").append(quote(s.getName()))
          .append(",\"kind\":").append(quote(s.getKind().name()))
          .append(",\"traceId\":").append(quote(s.getTraceId()))
          .append(",\"attributes\":{");
      String[] sep = {""};
      s.getAttributes().forEach((k, v) -> {
        sb.append(sep[0]).append(quote(k.getKey())).append(':').append(quote(String.valueOf(v)));
        sep[0] = ",";
      });
      sb.append("}}\n");
    }
    try {
      Files.writeString(file, sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      return CompletableResultCode.ofSuccess();
    } catch (IOException e) {
      return CompletableResultCode.ofFailure();
    }
  }

  private static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder q = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> q.append("\\\"");
        case '\\' -> q.append("\\\\");
        case '\n' -> q.append("\\n");
        default -> q.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
      }
    }
    return q.append('"').toString();
  }

  @Override
  public CompletableResultCode flush() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    return CompletableResultCode.ofSuccess();
  }
}
