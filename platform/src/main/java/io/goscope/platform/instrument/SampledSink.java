package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TracedProcess;
import io.opentelemetry.api.common.Attributes;
import java.util.concurrent.atomic.LongAdder;

/**
 * Passes on the spans of sampled traces only. The decision is made in the kernel, once per trace: a root span is
 * sampled by the process's ratio ({@code goscope_context.h}), every other span carries its parent's W3C sampled flag,
 * whether the parent is local or came in with a request, so a trace is kept or dropped as a whole and an incoming
 * sampled flag is respected. Metrics are not sampled: histogram measurements always pass, so metrics count every
 * request. Spans dropped here are sampled out, not lost, and counted as such.
 */
public final class SampledSink implements TelemetrySink {
  private final TelemetrySink delegate;
  private final LongAdder sampledOut;

  /**
   * @param sampledOut counter of the spans dropped because their trace is not sampled (shared by all processes)
   */
  public SampledSink(TelemetrySink delegate, LongAdder sampledOut) {
    this.delegate = requireNonNull(delegate, "delegate");
    this.sampledOut = requireNonNull(sampledOut, "sampledOut");
  }

  @Override
  public void span(ProbeSpan span) {
    if (span.sampled()) {
      delegate.span(span);
    } else {
      sampledOut.increment();
    }
  }

  @Override
  public void histogram(HistogramInstrument instrument, double value, Attributes attributes) {
    delegate.histogram(instrument, value, attributes);
  }

  @Override
  public TracedProcess process() {
    return delegate.process();
  }
}
