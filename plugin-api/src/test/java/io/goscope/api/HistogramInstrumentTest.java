package io.goscope.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HistogramInstrumentTest {
  private static HistogramInstrument instrument(List<Double> boundaries) {
    return new HistogramInstrument("d", "s", "", boundaries, "io.goscope.test");
  }

  @Test
  void copiesBoundaries() {
    List<Double> b = new ArrayList<>(List.of(0.1, 1.0));
    HistogramInstrument i = instrument(b);
    b.add(5.0);
    assertEquals(List.of(0.1, 1.0), i.boundaries());
    assertEquals(i, instrument(List.of(0.1, 1.0)));
  }

  @Test
  void rejectsUnorderedDuplicateOrInfiniteBoundaries() {
    assertThrows(IllegalArgumentException.class, () -> instrument(List.of(1.0, 0.5)));
    assertThrows(IllegalArgumentException.class, () -> instrument(List.of(1.0, 1.0)));
    assertThrows(IllegalArgumentException.class, () -> instrument(List.of(Double.POSITIVE_INFINITY)));
    assertThrows(IllegalArgumentException.class, () -> instrument(List.of(Double.NaN)));
    assertThrows(IllegalArgumentException.class,
        () -> new HistogramInstrument("", "s", "", List.of(), "scope"));
  }

  @Test
  void boundsTheNumberOfBoundaries() {
    List<Double> many = new ArrayList<>();
    for (int i = 0; i <= HistogramInstrument.MAX_BOUNDARIES; i++) {
      many.add((double) i);
    }
    assertThrows(IllegalArgumentException.class, () -> instrument(many));
    assertEquals(HistogramInstrument.MAX_BOUNDARIES, instrument(many.subList(0, many.size() - 1)).boundaries().size());
  }
}
