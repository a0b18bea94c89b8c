package io.goscope.platform.admin;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * A cumulative explicit-bucket histogram for the agent's own latencies: lock-free recording, a consistent-enough
 * snapshot (count is the sum of the bucket counts read). Values in base units (seconds).
 */
public final class SelfHistogram {
  private final double[] bounds;
  private final AtomicLongArray counts;
  private final DoubleAdder sum = new DoubleAdder();
  private final long startEpochNanos;

  SelfHistogram(List<Double> bounds) {
    requireNonNull(bounds, "bounds");
    this.bounds = new double[bounds.size()];
    for (int i = 0; i < this.bounds.length; i++) {
      this.bounds[i] = bounds.get(i);
      if (i > 0 && !(this.bounds[i] > this.bounds[i - 1])) {
        throw new IllegalArgumentException("bounds must increase: " + bounds);
      }
    }
    this.counts = new AtomicLongArray(this.bounds.length + 1);
    this.startEpochNanos = epochNanos();
  }

  /** Records one value; NaN and negative values are ignored. */
  public void record(double value) {
    if (!(value >= 0)) {
      return;
    }
    int i = 0;
    while (i < bounds.length && value > bounds[i]) {
      i++;
    }
    counts.incrementAndGet(i);
    sum.add(value);
  }

  /** The current cumulative state. */
  public HistogramSnapshot snapshot() {
    long[] c = new long[counts.length()];
    long n = 0;
    for (int i = 0; i < c.length; i++) {
      c[i] = counts.get(i);
      n += c[i];
    }
    return new HistogramSnapshot(bounds.clone(), c, n, sum.sum(), startEpochNanos);
  }

  static long epochNanos() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }
}
