package io.goscope.platform.admin;

/**
 * A histogram's cumulative state: {@code counts[i]} values in {@code (bounds[i-1], bounds[i]]}, the last one above
 * every bound.
 */
public record HistogramSnapshot(double[] bounds, long[] counts, long count, double sum, long startEpochNanos) {}
