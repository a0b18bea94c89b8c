package io.goscope.plugins.console;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.trace.data.SpanData;

/**
 * What a trace tree shows of one span: its place in the trace, who emitted it, what it did, when, and how it ended.
 *
 * @param traceId the trace id (32 hex digits)
 * @param spanId the span id (16 hex digits)
 * @param parentSpanId the parent's span id, or empty for a span that starts its trace
 * @param parentRemote whether the parent is a caller's span in another process (from an incoming traceparent)
 * @param service {@code service.name} of the emitting process, or {@code "-"}
 * @param kind the span kind
 * @param label the span name, followed by the target when the name does not say it (a server span's path, a client
 *     span's URL)
 * @param startEpochNanos start, epoch nanoseconds
 * @param endEpochNanos end, epoch nanoseconds
 * @param status the status code
 * @param statusDetail what to show after the status: the HTTP status code, else for an error its type or
 *     description; may be empty
 */
record TraceSpan(
    String traceId,
    String spanId,
    String parentSpanId,
    boolean parentRemote,
    String service,
    SpanKind kind,
    String label,
    long startEpochNanos,
    long endEpochNanos,
    StatusCode status,
    String statusDetail) {
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  private static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
  private static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
  private static final AttributeKey<Long> HTTP_STATUS = AttributeKey.longKey("http.response.status_code");
  private static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

  TraceSpan {
    requireNonNull(traceId, "traceId");
    requireNonNull(spanId, "spanId");
    requireNonNull(parentSpanId, "parentSpanId");
    requireNonNull(service, "service");
    requireNonNull(kind, "kind");
    requireNonNull(label, "label");
    requireNonNull(status, "status");
    requireNonNull(statusDetail, "statusDetail");
  }

  /** Whether this span names a parent (present in the trace or not). */
  boolean hasParent() {
    return !parentSpanId.isEmpty();
  }

  /** Whether the trace enters the traced processes here: no parent, or a parent in a caller's process. */
  boolean isEntry() {
    return parentSpanId.isEmpty() || parentRemote;
  }

  long durationNanos() {
    return Math.max(0, endEpochNanos - startEpochNanos);
  }

  /** The tree's view of an exported span. */
  static TraceSpan of(SpanData span) {
    String service = span.getResource().getAttribute(SERVICE_NAME);
    String label = span.getName();
    if (label.indexOf('/') < 0) { // a name without a route or path: say what was called
      String target = span.getKind() == SpanKind.CLIENT ? span.getAttributes().get(URL_FULL)
          : span.getAttributes().get(URL_PATH);
      if (target != null && !target.isEmpty()) {
        label = label + " " + target;
      }
    }
    Long http = span.getAttributes().get(HTTP_STATUS);
    StatusCode status = span.getStatus().getStatusCode();
    String detail = "";
    if (http != null) {
      detail = http.toString();
    } else if (status == StatusCode.ERROR) {
      String type = span.getAttributes().get(ERROR_TYPE);
      detail = type != null ? type : span.getStatus().getDescription();
    }
    return new TraceSpan(span.getTraceId(), span.getSpanId(),
        span.getParentSpanContext().isValid() ? span.getParentSpanId() : "",
        span.getParentSpanContext().isValid() && span.getParentSpanContext().isRemote(),
        service == null || service.isEmpty() ? "-" : service, span.getKind(), label,
        span.getStartEpochNanos(), span.getEndEpochNanos(), status, detail);
  }
}
