package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SampledSinkTest {

  @Test
  void fullRatioIsTheDelegateItself() {
    TelemetrySink s = span -> { };
    assertSame(s, SampledSink.wrap(s, 1.0));
    assertThrows(IllegalArgumentException.class, () -> SampledSink.wrap(s, 1.5));
  }

  @Test
  void keepsAboutTheRatioAndDecidesByTraceId() {
    List<ProbeSpan> kept = new ArrayList<>();
    TelemetrySink sink = SampledSink.wrap(kept::add, 0.25);
    Random r = new Random(42);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      String id = String.format("%016x%016x", r.nextLong(), r.nextLong());
      ids.add(id);
      sink.span(ProbeSpan.builder("x", "t").traceId(id).build());
    }
    double ratio = kept.size() / 20_000.0;
    assertTrue(ratio > 0.23 && ratio < 0.27, "ratio " + ratio);
    // Deterministic: the same trace ids give the same decisions (all spans of a trace share the fate).
    List<ProbeSpan> again = new ArrayList<>();
    TelemetrySink sink2 = SampledSink.wrap(again::add, 0.25);
    ids.forEach(id -> sink2.span(ProbeSpan.builder("x", "t").traceId(id).build()));
    assertEquals(kept.size(), again.size());
  }
}
