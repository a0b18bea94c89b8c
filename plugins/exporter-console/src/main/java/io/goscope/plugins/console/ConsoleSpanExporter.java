package io.goscope.plugins.console;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Prints one line per span, for example:
 *
 * <pre>
 * 10:15:30.012 checkout GET /users/{id} SERVER 12.500ms ERROR(boom) http.request.method=GET
 *     http.response.status_code=500 trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203331
 *     parent=00f067aa0ba902b7
 * </pre>
 *
 * (on one line): start time, {@code service.name}, span name, kind, duration, status, attributes sorted by key
 * (values longer than {@value #MAX_VALUE_LENGTH} characters are cut), trace id, span id and, for a child span, the
 * parent span id.
 */
public final class ConsoleSpanExporter implements SpanExporter {
  static final int MAX_VALUE_LENGTH = 80;
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");

  private final PrintStream out;
  private final DateTimeFormatter timeFormat;
  private final AtomicBoolean shutdown = new AtomicBoolean();

  /** Prints to {@code out} with start times in the system time zone. */
  public ConsoleSpanExporter(PrintStream out) {
    this(out, ZoneId.systemDefault());
  }

  /** Prints to {@code out} with start times in {@code zone}. */
  public ConsoleSpanExporter(PrintStream out, ZoneId zone) {
    this.out = requireNonNull(out, "out");
    this.timeFormat = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(requireNonNull(zone, "zone"));
  }

  @Override
  public CompletableResultCode export(Collection<SpanData> spans) {
    if (shutdown.get()) {
      return CompletableResultCode.ofFailure();
    }
    StringBuilder sb = new StringBuilder(256 * spans.size());
    for (SpanData span : spans) {
      format(span, sb);
      sb.append(System.lineSeparator());
    }
    out.print(sb);
    out.flush();
    return CompletableResultCode.ofSuccess();
  }

  /** The line for one span, without a line separator. */
  public String format(SpanData span) {
    StringBuilder sb = new StringBuilder(256);
    format(span, sb);
    return sb.toString();
  }

  private void format(SpanData span, StringBuilder sb) {
    long start = span.getStartEpochNanos();
    sb.append(timeFormat.format(Instant.ofEpochSecond(0, start)));
    String service = span.getResource().getAttribute(SERVICE_NAME);
    sb.append(' ').append(service == null ? "-" : service);
    sb.append(' ').append(span.getName());
    sb.append(' ').append(span.getKind());
    long durationNanos = Math.max(0, span.getEndEpochNanos() - start);
    sb.append(' ').append(durationNanos / 1_000_000).append('.');
    String micros = Long.toString(durationNanos / 1_000 % 1_000);
    sb.append("000", 0, 3 - micros.length()).append(micros).append("ms");
    StatusData status = span.getStatus();
    sb.append(' ').append(status.getStatusCode());
    if (status.getStatusCode() == StatusCode.ERROR && !status.getDescription().isEmpty()) {
      sb.append('(').append(cut(status.getDescription())).append(')');
    }
    appendAttributes(span.getAttributes(), sb);
    sb.append(" trace=").append(span.getTraceId());
    sb.append(" span=").append(span.getSpanId());
    if (span.getParentSpanContext().isValid()) {
      sb.append(" parent=").append(span.getParentSpanId());
    }
  }

  /** Attributes sorted by key, {@code key=value}, each value on one line and cut to a readable length. */
  static void appendAttributes(Attributes attributes, StringBuilder sb) {
    Map<String, Object> sorted = new TreeMap<>();
    attributes.forEach((k, v) -> sorted.put(k.getKey(), v));
    sorted.forEach((k, v) -> sb.append(' ').append(k).append('=').append(cut(String.valueOf(v))));
  }

  static String cut(String value) {
    String oneLine = value.replace('\n', ' ').replace('\r', ' ');
    return oneLine.length() <= MAX_VALUE_LENGTH ? oneLine : oneLine.substring(0, MAX_VALUE_LENGTH - 1) + "…";
  }

  @Override
  public CompletableResultCode flush() {
    out.flush();
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    shutdown.set(true);
    out.flush();
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public String toString() {
    return "ConsoleSpanExporter{}";
  }
}
