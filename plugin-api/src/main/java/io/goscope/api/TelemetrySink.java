package io.goscope.api;

import io.opentelemetry.api.common.Attributes;

/**
 * Receives what decoders produce. The host attaches the traced process's resource (service, process and Kubernetes
 * attributes), converts kernel timestamps and batches for export. Never blocks: when the export queue is full the
 * item is dropped and counted.
 */
public interface TelemetrySink {

  /** Emits one finished span. Spans are subject to the process's sampling ratio. */
  void span(ProbeSpan span);

  /**
   * Records one measurement into a histogram of the traced process. Metrics are never sampled: decoders record
   * every request, the host aggregates in place (no queue) and exports periodically. Keep attribute sets of low
   * cardinality (no paths, ids or client addresses): the host bounds the number of series and drops,
   * counting them, measurements for series beyond that bound.
   *
   * <p>The default does nothing, so sinks that only handle spans need not implement it.
   *
   * @param value the measurement in the instrument's unit; NaN and infinities are ignored
   */
  @Unstable
  default void histogram(HistogramInstrument instrument, double value, Attributes attributes) {}

  /** The process this sink's records come from; {@link TracedProcess#UNKNOWN} by default. */
  @Unstable
  default TracedProcess process() {
    return TracedProcess.UNKNOWN;
  }
}
