package io.goscope.testing;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.function.Predicate;

/**
 * What a test OTLP receiver has accepted so far, whatever the transport: every span and every histogram data point
 * of the decoded {@code Export*ServiceRequest}s, with their resource attributes, and waits on them. Shared by
 * {@link OtlpReceiver} (OTLP/HTTP) and gRPC receivers, so both answer the same queries. Thread-safe.
 */
public final class ReceivedTelemetry {
  private final IntSupplier requests;
  private final List<ReceivedSpan> spans = new ArrayList<>();
  private final List<ReceivedHistogramPoint> histogramPoints = new ArrayList<>();

  /** @param requests the transport's request count, for the messages of failed waits */
  public ReceivedTelemetry(IntSupplier requests) {
    this.requests = requireNonNull(requests, "requests");
  }

  /** Keeps the spans of an accepted trace export. */
  public void add(ExportTraceServiceRequest request) {
    List<ReceivedSpan> decoded = decode(request);
    synchronized (spans) {
      spans.addAll(decoded);
      spans.notifyAll();
    }
  }

  /** Keeps the histogram points of an accepted metrics export (other metric types are ignored). */
  public void add(ExportMetricsServiceRequest request) {
    List<ReceivedHistogramPoint> decoded = decode(request);
    synchronized (histogramPoints) {
      histogramPoints.addAll(decoded);
      histogramPoints.notifyAll();
    }
  }

  /** A snapshot of the spans received so far, in arrival order. */
  public List<ReceivedSpan> spans() {
    synchronized (spans) {
      return List.copyOf(spans);
    }
  }

  /**
   * Waits until at least {@code n} spans have arrived.
   *
   * @throws AssertionError with the spans received so far when the timeout passes first
   */
  public List<ReceivedSpan> awaitSpans(int n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (spans) {
      while (spans.size() < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("expected " + n + " spans within " + timeout + ", got " + spans.size()
              + " after " + requests.getAsInt() + " requests: " + spans);
        }
        spans.wait(Math.max(1, left / 1_000_000));
      }
      return List.copyOf(spans);
    }
  }

  /** A snapshot of the histogram points received so far, in arrival order (every export of every series). */
  public List<ReceivedHistogramPoint> histogramPoints() {
    synchronized (histogramPoints) {
      return List.copyOf(histogramPoints);
    }
  }

  /**
   * Waits until the histogram points received so far satisfy {@code condition}.
   *
   * @throws AssertionError with the points received so far when the timeout passes first
   */
  public List<ReceivedHistogramPoint> awaitHistogramPoints(Predicate<List<ReceivedHistogramPoint>> condition,
      Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (histogramPoints) {
      while (!condition.test(List.copyOf(histogramPoints))) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("histogram points did not reach the expected state within " + timeout
              + " after " + requests.getAsInt() + " requests: " + histogramPoints);
        }
        histogramPoints.wait(Math.max(1, left / 1_000_000));
      }
      return List.copyOf(histogramPoints);
    }
  }

  private static List<ReceivedSpan> decode(ExportTraceServiceRequest request) {
    List<ReceivedSpan> out = new ArrayList<>();
    for (ResourceSpans rs : request.getResourceSpansList()) {
      Map<String, Object> resource = attributes(rs.getResource().getAttributesList());
      for (ScopeSpans ss : rs.getScopeSpansList()) {
        String scope = ss.getScope().getName();
        for (Span s : ss.getSpansList()) {
          out.add(new ReceivedSpan(
              s.getName(),
              s.getKind().name().replace("SPAN_KIND_", ""),
              s.getStartTimeUnixNano(),
              s.getEndTimeUnixNano(),
              attributes(s.getAttributesList()),
              resource,
              scope,
              s.getStatus().getCode().name().replace("STATUS_CODE_", ""),
              s.getStatus().getMessage(),
              hex(s.getTraceId()),
              hex(s.getSpanId()),
              hex(s.getParentSpanId()),
              s.getTraceState(),
              s.getFlags(),
              ss.getSchemaUrl()));
        }
      }
    }
    return out;
  }

  private static List<ReceivedHistogramPoint> decode(ExportMetricsServiceRequest request) {
    List<ReceivedHistogramPoint> out = new ArrayList<>();
    for (ResourceMetrics rm : request.getResourceMetricsList()) {
      Map<String, Object> resource = attributes(rm.getResource().getAttributesList());
      for (ScopeMetrics sm : rm.getScopeMetricsList()) {
        String scope = sm.getScope().getName();
        for (Metric m : sm.getMetricsList()) {
          if (!m.hasHistogram()) {
            continue;
          }
          String temporality = m.getHistogram().getAggregationTemporality().name()
              .replace("AGGREGATION_TEMPORALITY_", "");
          for (HistogramDataPoint p : m.getHistogram().getDataPointsList()) {
            out.add(new ReceivedHistogramPoint(m.getName(), m.getUnit(), scope, temporality, resource,
                attributes(p.getAttributesList()), p.getStartTimeUnixNano(), p.getTimeUnixNano(), p.getCount(),
                p.getSum(), List.copyOf(p.getExplicitBoundsList()), List.copyOf(p.getBucketCountsList()),
                sm.getSchemaUrl()));
          }
        }
      }
    }
    return out;
  }

  private static String hex(ByteString bytes) {
    return HexFormat.of().formatHex(bytes.toByteArray());
  }

  private static Map<String, Object> attributes(List<KeyValue> kvs) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (KeyValue kv : kvs) {
      map.put(kv.getKey(), value(kv.getValue()));
    }
    return Map.copyOf(map);
  }

  private static Object value(AnyValue v) {
    switch (v.getValueCase()) {
      case STRING_VALUE:
        return v.getStringValue();
      case BOOL_VALUE:
        return v.getBoolValue();
      case INT_VALUE:
        return v.getIntValue();
      case DOUBLE_VALUE:
        return v.getDoubleValue();
      case BYTES_VALUE:
        return v.getBytesValue().toByteArray();
      case ARRAY_VALUE:
        List<Object> list = new ArrayList<>();
        v.getArrayValue().getValuesList().forEach(e -> list.add(value(e)));
        return List.copyOf(list);
      case KVLIST_VALUE:
        return attributes(v.getKvlistValue().getValuesList());
      default:
        return "";
    }
  }
}
