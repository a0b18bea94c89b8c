package io.goscope.platform.export;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** A test metric exporter that records every export; can be told to fail or hang. */
final class RecordingMetricExporter implements MetricExporter {
  private final List<List<MetricData>> exports = new ArrayList<>();
  final AtomicInteger shutdowns = new AtomicInteger();
  volatile boolean fail;
  volatile boolean neverComplete;

  @Override
  public synchronized CompletableResultCode export(Collection<MetricData> metrics) {
    if (neverComplete) {
      return new CompletableResultCode();
    }
    if (fail) {
      return CompletableResultCode.ofFailure();
    }
    exports.add(List.copyOf(metrics));
    notifyAll();
    return CompletableResultCode.ofSuccess();
  }

  synchronized List<List<MetricData>> exports() {
    return List.copyOf(exports);
  }

  /** Waits for at least {@code n} exports. */
  synchronized List<List<MetricData>> awaitExports(int n, long timeoutMillis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (exports.size() < n) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        throw new AssertionError("expected " + n + " metric exports, got " + exports.size());
      }
      wait(left);
    }
    return List.copyOf(exports);
  }

  @Override
  public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
    return AggregationTemporality.CUMULATIVE;
  }

  @Override
  public CompletableResultCode flush() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    shutdowns.incrementAndGet();
    return CompletableResultCode.ofSuccess();
  }
}
