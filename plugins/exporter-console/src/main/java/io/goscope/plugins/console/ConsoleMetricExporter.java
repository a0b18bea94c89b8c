package io.goscope.plugins.console;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.MetricDataType;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import java.io.PrintStream;
import java.util.Collection;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Prints one line per histogram point, for example:
 *
 * <pre>
 * metric checkout pid=4242 http.server.request.duration count=12 sum=0.153s min=0.002s max=0.041s
 *     http.request.method=GET http.response.status_code=200 network.protocol.version=1.1 url.scheme=http
 * </pre>
 *
 * (on one line): {@code service.name}, {@code process.pid}, metric name, count, sum/min/max in the metric's unit,
 * then the point's attributes sorted by key. Other metric types are printed as name and type only.
 */
public final class ConsoleMetricExporter implements MetricExporter {
  private static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  private static final AttributeKey<Long> PROCESS_PID = AttributeKey.longKey("process.pid");

  private final PrintStream out;
  private final AtomicBoolean shutdown = new AtomicBoolean();

  public ConsoleMetricExporter(PrintStream out) {
    this.out = requireNonNull(out, "out");
  }

  @Override
  public CompletableResultCode export(Collection<MetricData> metrics) {
    if (shutdown.get()) {
      return CompletableResultCode.ofFailure();
    }
    StringBuilder sb = new StringBuilder();
    for (MetricData m : metrics) {
      if (m.getType() != MetricDataType.HISTOGRAM) {
        prefix(m, sb).append(" type=").append(m.getType()).append(System.lineSeparator());
        continue;
      }
      for (HistogramPointData p : m.getHistogramData().getPoints()) {
        format(m, p, sb);
        sb.append(System.lineSeparator());
      }
    }
    out.print(sb);
    out.flush();
    return CompletableResultCode.ofSuccess();
  }

  /** The line for one histogram point, without a line separator. */
  public String format(MetricData metric, HistogramPointData point) {
    StringBuilder sb = new StringBuilder(200);
    format(metric, point, sb);
    return sb.toString();
  }

  private static void format(MetricData m, HistogramPointData p, StringBuilder sb) {
    String unit = m.getUnit();
    prefix(m, sb).append(" count=").append(p.getCount());
    sb.append(" sum=").append(number(p.getSum())).append(unit);
    if (p.hasMin()) {
      sb.append(" min=").append(number(p.getMin())).append(unit);
    }
    if (p.hasMax()) {
      sb.append(" max=").append(number(p.getMax())).append(unit);
    }
    ConsoleSpanExporter.appendAttributes(p.getAttributes(), sb); // same format as the span lines
  }

  private static StringBuilder prefix(MetricData m, StringBuilder sb) {
    String service = m.getResource().getAttribute(SERVICE_NAME);
    Long pid = m.getResource().getAttribute(PROCESS_PID);
    sb.append("metric ").append(service == null ? "-" : service);
    if (pid != null) {
      sb.append(" pid=").append(pid);
    }
    return sb.append(' ').append(m.getName());
  }

  private static String number(double v) {
    return String.format(Locale.ROOT, "%.6g", v).replaceFirst("\\.?0+(e|$)", "$1");
  }


  @Override
  public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
    return AggregationTemporality.CUMULATIVE;
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
    return "ConsoleMetricExporter{}";
  }
}
