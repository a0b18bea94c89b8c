package io.goscope.platform.admin;

import static java.util.Objects.requireNonNull;

import io.goscope.platform.admin.SelfMetrics.Family;
import io.goscope.platform.admin.SelfMetrics.Sample;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.DoublePointData;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableDoublePointData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableGaugeData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableHistogramData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableHistogramPointData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableLongPointData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableMetricData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableSumData;
import io.opentelemetry.sdk.resources.Resource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@link SelfMetrics} as OpenTelemetry {@link MetricData}, for the metric pipeline's exporters: counters as
 * cumulative monotonic sums, gauges and info as gauges, histograms as cumulative explicit-bucket histograms. Names
 * are the Prometheus base names, so one name finds the same metric on {@code /metrics} and in the backend.
 */
public final class SelfMetricsData implements Supplier<Collection<MetricData>> {
  /** The instrumentation scope of the agent's own metrics. */
  public static final String SCOPE = "io.goscope.agent";

  private final SelfMetrics metrics;
  private final Resource resource;
  private final InstrumentationScopeInfo scope = InstrumentationScopeInfo.create(SCOPE);
  private final long startEpochNanos = SelfHistogram.epochNanos();

  /** @param resource the agent's own resource (not a traced process's) */
  public SelfMetricsData(SelfMetrics metrics, Resource resource) {
    this.metrics = requireNonNull(metrics, "metrics");
    this.resource = requireNonNull(resource, "resource");
  }

  @Override
  public Collection<MetricData> get() {
    long now = SelfHistogram.epochNanos();
    List<MetricData> out = new ArrayList<>();
    for (Family f : metrics.collect()) {
      switch (f.type()) {
        case COUNTER -> {
          List<LongPointData> points = new ArrayList<>();
          for (Sample s : f.samples()) {
            points.add(ImmutableLongPointData.create(startEpochNanos, now, attributes(s.labels()),
                (long) s.value()));
          }
          if (!points.isEmpty()) {
            out.add(ImmutableMetricData.createLongSum(resource, scope, f.name(), f.help(), "1",
                ImmutableSumData.create(true, AggregationTemporality.CUMULATIVE, points)));
          }
        }
        case GAUGE, INFO -> {
          List<DoublePointData> points = new ArrayList<>();
          for (Sample s : f.samples()) {
            points.add(ImmutableDoublePointData.create(startEpochNanos, now, attributes(s.labels()), s.value()));
          }
          if (!points.isEmpty()) {
            out.add(ImmutableMetricData.createDoubleGauge(resource, scope, f.name(), f.help(), "1",
                ImmutableGaugeData.create(points)));
          }
        }
        case HISTOGRAM -> {
          List<HistogramPointData> points = new ArrayList<>();
          for (HistogramSnapshot h : f.histograms()) {
            List<Double> bounds = new ArrayList<>(h.bounds().length);
            for (double b : h.bounds()) {
              bounds.add(b);
            }
            List<Long> counts = new ArrayList<>(h.counts().length);
            for (long c : h.counts()) {
              counts.add(c);
            }
            points.add(ImmutableHistogramPointData.create(h.startEpochNanos(), now, Attributes.empty(), h.sum(),
                false, 0, false, 0, bounds, counts));
          }
          out.add(ImmutableMetricData.createDoubleHistogram(resource, scope, f.name(), f.help(), "s",
              ImmutableHistogramData.create(AggregationTemporality.CUMULATIVE, points)));
        }
        default -> throw new IllegalStateException(f.type().toString());
      }
    }
    return out;
  }

  private static Attributes attributes(Map<String, String> labels) {
    if (labels.isEmpty()) {
      return Attributes.empty();
    }
    AttributesBuilder b = Attributes.builder();
    labels.forEach(b::put);
    return b.build();
  }
}
