package io.goscope.plugins.console;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TraceTreeTest {
  static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final long T0 = 1_704_190_530_000_000_000L;

  /** A span of {@link #TRACE} from {@code startMicros} to {@code endMicros} after T0. */
  static TraceSpan span(String id, String parent, String service, SpanKind kind, String label, long startMicros,
      long endMicros, StatusCode status, String detail) {
    return new TraceSpan(TRACE, id, parent, false, service, kind, label, T0 + startMicros * 1000,
        T0 + endMicros * 1000, status, detail);
  }

  static TraceSpan ok(String id, String parent, String service, SpanKind kind, String label, long startMicros,
      long endMicros) {
    return span(id, parent, service, kind, label, startMicros, endMicros, StatusCode.UNSET, "200");
  }

  /** The checkout trace of {@code goscope demo}: a front server span, three calls, the back's server spans. */
  static List<TraceSpan> checkout() {
    return List.of(
        ok("a000000000000001", "", "demo-front", SpanKind.SERVER, "GET /checkout/1", 0, 12_400),
        ok("a000000000000002", "a000000000000001", "demo-front", SpanKind.CLIENT,
            "GET http://127.0.0.1:8081/inventory/1", 100, 3_200),
        ok("b000000000000001", "a000000000000002", "demo-back", SpanKind.SERVER, "GET /inventory/1", 600, 2_800),
        ok("a000000000000003", "a000000000000001", "demo-front", SpanKind.CLIENT,
            "GET http://127.0.0.1:8081/price/1", 3_300, 11_000),
        ok("b000000000000002", "a000000000000003", "demo-back", SpanKind.SERVER, "GET /price/1", 3_600, 10_500),
        span("a000000000000004", "a000000000000001", "demo-front", SpanKind.CLIENT,
            "GET http://127.0.0.1:8081/recommendations/1", 3_310, 4_360, StatusCode.ERROR, "500"),
        span("b000000000000003", "a000000000000004", "demo-back", SpanKind.SERVER, "GET /recommendations/1", 3_500,
            3_900, StatusCode.ERROR, "500"));
  }

  @Test
  void rendersParentsAndChildrenInStartOrderWithAlignedDurations() {
    List<TraceSpan> spans = new ArrayList<>(checkout());
    Collections.shuffle(spans, new Random(42)); // arrival order must not matter
    assertEquals(List.of(
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  2 services, 7 spans, 12.4 ms",
        "└─ demo-front  SERVER  GET /checkout/1                                  12.4 ms  200",
        "   ├─ demo-front  CLIENT  GET http://127.0.0.1:8081/inventory/1         3.10 ms  200",
        "   │  └─ demo-back  SERVER  GET /inventory/1                            2.20 ms  200",
        "   ├─ demo-front  CLIENT  GET http://127.0.0.1:8081/price/1             7.70 ms  200",
        "   │  └─ demo-back  SERVER  GET /price/1                                6.90 ms  200",
        "   └─ demo-front  CLIENT  GET http://127.0.0.1:8081/recommendations/1   1.05 ms  ERROR 500",
        "      └─ demo-back  SERVER  GET /recommendations/1                     0.400 ms  ERROR 500"),
        TraceTree.build(TRACE, spans, 0).render(TraceTree.Glyphs.UNICODE));
  }

  @Test
  void asciiGlyphs() {
    List<TraceSpan> spans = List.of(
        ok("a000000000000001", "", "f", SpanKind.SERVER, "GET /", 0, 3000),
        ok("a000000000000002", "a000000000000001", "f", SpanKind.CLIENT, "GET", 100, 1000),
        ok("a000000000000003", "a000000000000002", "b", SpanKind.SERVER, "GET /x", 200, 900),
        ok("a000000000000004", "a000000000000001", "f", SpanKind.CLIENT, "GET", 1100, 2000));
    assertEquals(List.of(
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  2 services, 4 spans, 3.00 ms",
        "`- f  SERVER  GET /          3.00 ms  200",
        "   |- f  CLIENT  GET        0.900 ms  200",
        "   |  `- b  SERVER  GET /x  0.700 ms  200",
        "   `- f  CLIENT  GET        0.900 ms  200"),
        TraceTree.build(TRACE, spans, 0).render(TraceTree.Glyphs.ASCII));
  }

  @Test
  void spansWhoseParentNeverArrivedAreMarkedRootsAmongTheOthers() {
    List<TraceSpan> spans = List.of(
        ok("a000000000000001", "", "front", SpanKind.SERVER, "GET /a", 1000, 5000),
        ok("a000000000000002", "a000000000000001", "front", SpanKind.CLIENT, "GET", 1500, 2000),
        // its client span was dropped: printed as a root, before the server span that started later
        ok("b000000000000001", "a0000000000000ff", "back", SpanKind.SERVER, "GET /b", 500, 900),
        ok("b000000000000002", "b000000000000001", "back", SpanKind.CLIENT, "GET", 600, 800));
    TraceTree tree = TraceTree.build(TRACE, spans, 3);
    assertEquals(2, tree.roots().size());
    assertEquals(List.of(
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  2 services, 4 spans, 4.50 ms, 3 spans dropped (buffer full)",
        "├─ back  SERVER  GET /b   0.400 ms  200  (parent a0000000000000ff not seen)",
        "│  └─ back  CLIENT  GET   0.200 ms  200",
        "└─ front  SERVER  GET /a   4.00 ms  200",
        "   └─ front  CLIENT  GET  0.500 ms  200"),
        tree.render(TraceTree.Glyphs.UNICODE));
  }

  @Test
  void severalRootsAreOrderedByStart() {
    TraceTree tree = TraceTree.build(TRACE, List.of(
        ok("a000000000000003", "", "s", SpanKind.INTERNAL, "third", 300, 400),
        ok("a000000000000001", "", "s", SpanKind.INTERNAL, "first", 100, 200),
        ok("a000000000000002", "", "s", SpanKind.INTERNAL, "second", 200, 300)), 0);
    assertEquals(List.of("first", "second", "third"), tree.roots().stream().map(n -> n.span.label()).toList());
    assertEquals(1, tree.serviceCount());
    assertEquals(300_000, tree.durationNanos());
  }

  @Test
  void childrenWithTheSameStartAreOrderedBySpanId() {
    TraceTree tree = TraceTree.build(TRACE, List.of(
        ok("a000000000000001", "", "s", SpanKind.SERVER, "root", 0, 1000),
        ok("c000000000000000", "a000000000000001", "s", SpanKind.CLIENT, "c", 100, 200),
        ok("b000000000000000", "a000000000000001", "s", SpanKind.CLIENT, "b", 100, 200)), 0);
    assertEquals(List.of("b", "c"), tree.roots().get(0).children.stream().map(n -> n.span.label()).toList());
  }

  @Test
  void aParentCycleIsCutAtItsEarliestSpanAndNothingIsLost() {
    TraceTree tree = TraceTree.build(TRACE, List.of(
        ok("a000000000000001", "a000000000000002", "s", SpanKind.INTERNAL, "x", 100, 200),
        ok("a000000000000002", "a000000000000001", "s", SpanKind.INTERNAL, "y", 150, 180),
        ok("a000000000000003", "a000000000000003", "s", SpanKind.INTERNAL, "self", 300, 400)), 0);
    List<String> lines = tree.render(TraceTree.Glyphs.ASCII);
    assertEquals(List.of(
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  1 service, 3 spans, 0.300 ms",
        "|- s  INTERNAL  x     0.100 ms  200  (parent a000000000000002 is its own descendant)",
        "|  `- s  INTERNAL  y  0.030 ms  200",
        "`- s  INTERNAL  self  0.100 ms  200  (its own parent)"), lines);
  }

  @Test
  void deepTreesDoNotRecurse() {
    List<TraceSpan> spans = new ArrayList<>();
    spans.add(ok(String.format("%016x", 1), "", "s", SpanKind.INTERNAL, "d1", 0, 100_000));
    for (int i = 2; i <= 5000; i++) {
      spans.add(ok(String.format("%016x", i), String.format("%016x", i - 1), "s", SpanKind.INTERNAL, "d" + i, i,
          100_000 - i));
    }
    List<String> lines = TraceTree.build(TRACE, spans, 0).render(TraceTree.Glyphs.ASCII);
    assertEquals(5001, lines.size());
    assertEquals(true, lines.get(5000).contains("`- s  INTERNAL  d5000"));
  }

  @Test
  void longLabelsAreCut() {
    String label = "GET http://127.0.0.1:8081/" + "x".repeat(100);
    List<String> lines = TraceTree.build(TRACE, List.of(ok("a000000000000001", "", "s", SpanKind.CLIENT,
        label, 0, 1000)), 0).render(TraceTree.Glyphs.UNICODE);
    assertEquals("└─ s  CLIENT  " + label.substring(0, TraceTree.MAX_LABEL_LENGTH - 1) + "…  1.00 ms  200",
        lines.get(1));
  }

  @Test
  void durations() {
    assertEquals("0.000 ms", TraceTree.duration(0));
    assertEquals("0.000 ms", TraceTree.duration(-5));
    assertEquals("0.041 ms", TraceTree.duration(41_000));
    assertEquals("0.999 ms", TraceTree.duration(999_000));
    assertEquals("3.12 ms", TraceTree.duration(3_120_000));
    assertEquals("12.4 ms", TraceTree.duration(12_449_000));
    assertEquals("250 ms", TraceTree.duration(250_000_000));
    assertEquals("1.25 s", TraceTree.duration(1_250_000_000));
    assertEquals("61.00 s", TraceTree.duration(61_000_000_000L));
  }

  @Test
  void statuses() {
    assertEquals("200", TraceTree.status(span("a", "", "s", SpanKind.SERVER, "GET", 0, 1, StatusCode.UNSET,
        "200")));
    assertEquals("404", TraceTree.status(span("a", "", "s", SpanKind.SERVER, "GET", 0, 1, StatusCode.UNSET,
        "404")));
    assertEquals("ERROR 404", TraceTree.status(span("a", "", "s", SpanKind.CLIENT, "GET", 0, 1, StatusCode.ERROR,
        "404")));
    assertEquals("ERROR connection refused", TraceTree.status(span("a", "", "s", SpanKind.CLIENT, "GET", 0, 1,
        StatusCode.ERROR, "connection refused")));
    assertEquals("ERROR", TraceTree.status(span("a", "", "s", SpanKind.INTERNAL, "x", 0, 1, StatusCode.ERROR, "")));
    assertEquals("OK", TraceTree.status(span("a", "", "s", SpanKind.INTERNAL, "x", 0, 1, StatusCode.OK, "")));
    assertEquals("UNSET", TraceTree.status(span("a", "", "s", SpanKind.INTERNAL, "x", 0, 1, StatusCode.UNSET,
        "")));
  }
}
