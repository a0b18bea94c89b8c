package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.common.Attributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class SampledSinkTest {

  @Test
  void passesSampledSpansAndCountsTheRest() {
    List<ProbeSpan> kept = new ArrayList<>();
    List<Double> measured = new ArrayList<>();
    TelemetrySink delegate = new TelemetrySink() {
      @Override
      public void span(ProbeSpan span) {
        kept.add(span);
      }

      @Override
      public void histogram(io.goscope.api.HistogramInstrument instrument, double value, Attributes attributes) {
        measured.add(value);
      }
    };
    LongAdder out = new LongAdder();
    SampledSink sink = new SampledSink(delegate, out);
    sink.span(ProbeSpan.builder("kept", "t").sampled(true).build());
    sink.span(ProbeSpan.builder("dropped", "t").sampled(false).build());
    sink.histogram(new io.goscope.api.HistogramInstrument("h", "s", "", List.of(1.0), "t"), 0.5,
        Attributes.empty());
    assertEquals(List.of("kept"), kept.stream().map(ProbeSpan::name).toList());
    assertEquals(1, out.sum(), "the unsampled span is counted as sampled out");
    assertEquals(List.of(0.5), measured, "metrics are never sampled");
  }
}
