package io.goscope.plugins.console;

import static io.goscope.plugins.console.TraceTreeTest.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class TraceBufferTest {
  private static final long MS = 1_000_000L;

  private static TraceBuffer buffer(int maxTraces, int maxSpans) {
    return new TraceBuffer(maxTraces, maxSpans, Duration.ofMillis(500), Duration.ofSeconds(5),
        Duration.ofSeconds(30));
  }

  private static TraceSpan inTrace(String traceId, String spanId, String parent) {
    TraceSpan s = ok(spanId, parent, "s", SpanKind.INTERNAL, spanId, 0, 1);
    return new TraceSpan(traceId, s.spanId(), s.parentSpanId(), false, s.service(), s.kind(), s.label(),
        s.startEpochNanos(), s.endEpochNanos(), StatusCode.UNSET, "");
  }

  private static TraceSpan remoteChild(String traceId, String spanId, String parent) {
    TraceSpan s = inTrace(traceId, spanId, parent);
    return new TraceSpan(traceId, spanId, parent, true, s.service(), s.kind(), s.label(), s.startEpochNanos(),
        s.endEpochNanos(), s.status(), s.statusDetail());
  }

  private static List<String> ids(List<TraceBuffer.Trace> traces) {
    return traces.stream().map(TraceBuffer.Trace::traceId).toList();
  }

  @Test
  void aTraceWithItsRootIsReadyAfterTheQuietPeriodSinceItsLastSpan() {
    TraceBuffer b = buffer(10, 100);
    b.add(inTrace("t1", "c1", "r1"), 0);
    b.add(inTrace("t1", "r1", ""), 100 * MS);
    assertEquals(List.of(), b.takeReady(599 * MS), "quiet for 499 ms only");
    b.add(inTrace("t1", "c2", "r1"), 400 * MS); // a goroutine's late span restarts the quiet period
    assertEquals(List.of(), b.takeReady(899 * MS));
    List<TraceBuffer.Trace> ready = b.takeReady(900 * MS);
    assertEquals(List.of("t1"), ids(ready));
    assertEquals(List.of("c1", "r1", "c2"), ready.get(0).spans().stream().map(TraceSpan::spanId).toList());
    assertEquals(0, b.heldTraces());
    assertEquals(0, b.heldSpans());
    assertEquals(List.of(), b.takeReady(10_000 * MS), "taken once");
  }

  @Test
  void aCallersRemoteParentCountsAsTheEntryOfTheTrace() {
    TraceBuffer b = buffer(10, 100);
    b.add(remoteChild("t1", "s1", "ffffffffffffffff"), 0);
    assertEquals(List.of("t1"), ids(b.takeReady(500 * MS)));
  }

  @Test
  void aTraceWithoutRootWaitsLongerThenIsPrintedAnyway() {
    TraceBuffer b = buffer(10, 100);
    b.add(inTrace("t1", "c1", "r1"), 0);
    assertEquals(List.of(), b.takeReady(4_999 * MS));
    assertEquals(List.of("t1"), ids(b.takeReady(5_000 * MS)));
  }

  @Test
  void aTraceThatNeverGoesQuietIsPrintedAfterTheMaximumHold() {
    TraceBuffer b = buffer(10, 1000);
    long t = 0;
    for (int i = 0; t < 30_000 * MS; i++, t += 200 * MS) {
      b.add(inTrace("busy", "s" + i, i == 0 ? "" : "s0"), t);
      assertEquals(0, b.takeReady(t).size(), "at " + t / MS + " ms");
    }
    assertEquals(List.of("busy"), ids(b.takeReady(30_000 * MS)));
  }

  @Test
  void readyTracesComeInTheOrderTheirFirstSpansArrived() {
    TraceBuffer b = buffer(10, 100);
    b.add(inTrace("t2", "a", ""), 0);
    b.add(inTrace("t1", "b", ""), 10 * MS);
    b.add(inTrace("t3", "c", ""), 20 * MS);
    b.add(inTrace("t2", "d", "a"), 30 * MS);
    assertEquals(List.of("t1", "t3"), ids(b.takeReady(520 * MS)));
    assertEquals(List.of("t2"), ids(b.takeReady(530 * MS)));
  }

  @Test
  void spansOfNewTracesBeyondTheTraceBoundAreDroppedAndCounted() {
    TraceBuffer b = buffer(2, 100);
    assertTrue(b.add(inTrace("t1", "a", ""), 0));
    assertTrue(b.add(inTrace("t2", "b", ""), 0));
    assertFalse(b.add(inTrace("t3", "c", ""), 0));
    assertTrue(b.add(inTrace("t1", "d", "a"), 0), "a held trace still takes spans");
    assertEquals(1, b.droppedSpans());
    assertEquals(2, b.heldTraces());
    List<TraceBuffer.Trace> all = b.takeAll();
    assertEquals(List.of("t1", "t2"), ids(all));
    assertEquals(0, all.get(0).droppedSpans(), "t3's loss is not t1's");
    assertTrue(b.add(inTrace("t3", "e", ""), 0), "room again once printed");
  }

  @Test
  void spansBeyondTheSpanBoundAreDroppedAndCountedOnTheirTrace() {
    TraceBuffer b = buffer(10, 3);
    b.add(inTrace("t1", "a", ""), 0);
    b.add(inTrace("t1", "b", "a"), 0);
    b.add(inTrace("t2", "c", ""), 0);
    assertFalse(b.add(inTrace("t1", "d", "a"), 0));
    assertFalse(b.add(inTrace("t1", "e", "a"), 0));
    assertFalse(b.add(inTrace("t4", "f", ""), 0));
    assertEquals(3, b.droppedSpans());
    assertEquals(3, b.heldSpans());
    List<TraceBuffer.Trace> ready = b.takeReady(500 * MS);
    assertEquals(List.of("t1", "t2"), ids(ready));
    assertEquals(2, ready.get(0).droppedSpans());
    assertEquals(0, ready.get(1).droppedSpans());
    assertEquals(0, b.heldSpans());
    assertEquals(3, b.droppedSpans(), "a total since creation");
  }

  @Test
  void boundsMustBePositive() {
    assertThrows(IllegalArgumentException.class, () -> buffer(0, 10));
    assertThrows(IllegalArgumentException.class, () -> buffer(10, 0));
    assertThrows(IllegalArgumentException.class, () -> new TraceBuffer(1, 1, Duration.ofMillis(-1),
        Duration.ZERO, Duration.ZERO));
  }
}
