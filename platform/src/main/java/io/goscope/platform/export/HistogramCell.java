package io.goscope.platform.export;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableHistogramPointData;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * One cumulative explicit-bucket histogram series. Recording is lock-free (atomic bucket counts, a
 * {@link DoubleAdder} sum, CAS'd min/max) and never blocks. A snapshot taken while another thread records may count
 * a measurement in its bucket but not yet in the sum; the next snapshot is exact again.
 */
final class HistogramCell {
  private final double[] boundaries;
  private final List<Double> boundaryList;
  private final Attributes attributes;
  private final long startEpochNanos;
  private final AtomicLongArray counts;
  private final DoubleAdder sum = new DoubleAdder();
  private final AtomicLong minBits = new AtomicLong(Double.doubleToRawLongBits(Double.POSITIVE_INFINITY));
  private final AtomicLong maxBits = new AtomicLong(Double.doubleToRawLongBits(Double.NEGATIVE_INFINITY));

  HistogramCell(List<Double> boundaries, Attributes attributes, long startEpochNanos) {
    this.boundaryList = boundaries;
    this.boundaries = boundaries.stream().mapToDouble(Double::doubleValue).toArray();
    this.attributes = attributes;
    this.startEpochNanos = startEpochNanos;
    this.counts = new AtomicLongArray(this.boundaries.length + 1);
  }

  /** Bucket {@code i} holds values in {@code (boundaries[i-1], boundaries[i]]}; the last one everything above. */
  static int bucketIndex(double[] boundaries, double value) {
    int i = Arrays.binarySearch(boundaries, value);
    return i >= 0 ? i : -i - 1;
  }

  /** Records a finite, non-negative value (the caller checks). */
  void record(double value) {
    counts.incrementAndGet(bucketIndex(boundaries, value));
    sum.add(value);
    long bits = Double.doubleToRawLongBits(value);
    long cur;
    while (value < Double.longBitsToDouble(cur = minBits.get()) && !minBits.compareAndSet(cur, bits)) {
      // retry
    }
    while (value > Double.longBitsToDouble(cur = maxBits.get()) && !maxBits.compareAndSet(cur, bits)) {
      // retry
    }
  }

  Attributes attributes() {
    return attributes;
  }

  /** The cumulative point since this series' first measurement, stamped {@code epochNanos}. */
  HistogramPointData snapshot(long epochNanos) {
    Long[] c = new Long[counts.length()];
    long total = 0;
    for (int i = 0; i < c.length; i++) {
      c[i] = counts.get(i);
      total += c[i];
    }
    double min = Double.longBitsToDouble(minBits.get());
    double max = Double.longBitsToDouble(maxBits.get());
    boolean any = total > 0 && min <= max;
    return ImmutableHistogramPointData.create(startEpochNanos, Math.max(startEpochNanos, epochNanos), attributes,
        sum.sum(), any, any ? min : 0, any, any ? max : 0, boundaryList, Arrays.asList(c));
  }
}
