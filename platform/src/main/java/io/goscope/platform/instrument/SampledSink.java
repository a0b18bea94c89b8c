package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.TraceId;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;

/**
 * Keeps a ratio of traces, decided by the trace id the way the SDK's {@code TraceIdRatioBased} sampler does (the
 * low 8 bytes against {@code ratio * Long.MAX_VALUE}), so every span of a kept trace is kept, on every node.
 * Metrics are not sampled: histogram measurements always pass, so metrics count every request.
 */
public final class SampledSink implements TelemetrySink {
  private final TelemetrySink delegate;
  private final long bound;
  private final LongAdder sampledOut = new LongAdder();
  /** Over every wrapper ever made: survives detaches, for the agent's self-metrics. */
  private static final LongAdder SAMPLED_OUT_TOTAL = new LongAdder();

  private SampledSink(TelemetrySink delegate, double ratio) {
    this.delegate = requireNonNull(delegate, "delegate");
    this.bound = ratio >= 1 ? Long.MAX_VALUE : (long) (ratio * Long.MAX_VALUE);
  }

  /** {@code delegate} itself when {@code ratio >= 1}, otherwise a sampling wrapper. */
  public static TelemetrySink wrap(TelemetrySink delegate, double ratio) {
    if (!(ratio >= 0 && ratio <= 1)) {
      throw new IllegalArgumentException("sampling ratio must be within 0..1: " + ratio);
    }
    return ratio >= 1 ? delegate : new SampledSink(delegate, ratio);
  }

  @Override
  public void span(ProbeSpan span) {
    String traceId = span.traceId();
    long random = TraceId.isValid(traceId)
        ? Long.parseUnsignedLong(traceId.substring(16), 16) & Long.MAX_VALUE
        : ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
    if (random < bound) {
      delegate.span(span);
    } else {
      sampledOut.increment();
      SAMPLED_OUT_TOTAL.increment();
    }
  }

  @Override
  public void histogram(HistogramInstrument instrument, double value, Attributes attributes) {
    delegate.histogram(instrument, value, attributes);
  }

  public long sampledOut() {
    return sampledOut.sum();
  }

  /** Spans sampled out by every sampled sink of this agent, processes gone included. Not a loss. */
  public static long sampledOutTotal() {
    return SAMPLED_OUT_TOTAL.sum();
  }
}
