package io.goscope.plugins.console;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Spans held per trace until the trace looks finished, bounded in traces and spans. A trace is ready when
 *
 * <ul>
 *   <li>it has an entry span (no parent, or a caller's parent from another process) and no span of it arrived for
 *       the quiet period: its root has ended and its children, which end first, have had time to arrive; or
 *   <li>no span of it arrived for the rootless wait: its root may never come (a caller nobody traces, a root
 *       dropped); or
 *   <li>it has been held for the maximum hold, however busy (a trace that never goes quiet is still shown).
 * </ul>
 *
 * A span that would exceed the bounds (maximum traces held, maximum spans held) is dropped and counted, in total and,
 * when its trace is held, on that trace, whose header then says so. Pure: callers pass the time (any monotonic
 * nanosecond clock), so tests drive it without sleeping. Thread-safe.
 */
final class TraceBuffer {
  static final int DEFAULT_MAX_TRACES = 512;
  static final int DEFAULT_MAX_SPANS = 8192;
  static final Duration DEFAULT_QUIET_PERIOD = Duration.ofSeconds(1);
  static final Duration DEFAULT_ROOTLESS_WAIT = Duration.ofSeconds(5);
  static final Duration DEFAULT_MAX_HOLD = Duration.ofSeconds(30);

  /** A trace taken out of the buffer: its spans in arrival order and how many of its spans were dropped. */
  record Trace(String traceId, List<TraceSpan> spans, long droppedSpans) {
    Trace {
      spans = List.copyOf(spans);
    }
  }

  private static final class Pending {
    final List<TraceSpan> spans = new ArrayList<>();
    final long firstArrival;
    long lastArrival;
    boolean hasEntry;
    long dropped;

    Pending(long now) {
      this.firstArrival = now;
    }
  }

  private final int maxTraces;
  private final int maxSpans;
  private final long quietNanos;
  private final long rootlessWaitNanos;
  private final long maxHoldNanos;
  private final Map<String, Pending> traces = new LinkedHashMap<>();
  private int heldSpans;
  private long droppedSpans;

  TraceBuffer(int maxTraces, int maxSpans, Duration quietPeriod, Duration rootlessWait, Duration maxHold) {
    if (maxTraces < 1 || maxSpans < 1) {
      throw new IllegalArgumentException("maxTraces and maxSpans must be positive: " + maxTraces + ", " + maxSpans);
    }
    this.maxTraces = maxTraces;
    this.maxSpans = maxSpans;
    this.quietNanos = nonNegative(quietPeriod, "quietPeriod");
    this.rootlessWaitNanos = nonNegative(rootlessWait, "rootlessWait");
    this.maxHoldNanos = nonNegative(maxHold, "maxHold");
  }

  private static long nonNegative(Duration d, String name) {
    requireNonNull(d, name);
    if (d.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative: " + d);
    }
    return d.toNanos();
  }

  /** Holds {@code span}, arrived at {@code now}; false when it was dropped because the buffer is full. */
  synchronized boolean add(TraceSpan span, long now) {
    Pending p = traces.get(span.traceId());
    if (heldSpans >= maxSpans || (p == null && traces.size() >= maxTraces)) {
      droppedSpans++;
      if (p != null) {
        p.dropped++;
      }
      return false;
    }
    if (p == null) {
      p = new Pending(now);
      traces.put(span.traceId(), p);
    }
    p.spans.add(span);
    p.lastArrival = now;
    p.hasEntry |= span.isEntry();
    heldSpans++;
    return true;
  }

  /** Removes and returns the traces ready at {@code now}, in the order their first spans arrived. */
  synchronized List<Trace> takeReady(long now) {
    List<Trace> ready = new ArrayList<>();
    for (Iterator<Map.Entry<String, Pending>> it = traces.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Pending> e = it.next();
      Pending p = e.getValue();
      long quiet = now - p.lastArrival;
      if ((p.hasEntry && quiet >= quietNanos) || quiet >= rootlessWaitNanos || now - p.firstArrival >= maxHoldNanos) {
        it.remove();
        heldSpans -= p.spans.size();
        ready.add(new Trace(e.getKey(), p.spans, p.dropped));
      }
    }
    return ready;
  }

  /** Removes and returns every held trace (flush, shutdown). */
  synchronized List<Trace> takeAll() {
    List<Trace> all = new ArrayList<>(traces.size());
    traces.forEach((id, p) -> all.add(new Trace(id, p.spans, p.dropped)));
    traces.clear();
    heldSpans = 0;
    return all;
  }

  /** Spans dropped since creation because the buffer was full. */
  synchronized long droppedSpans() {
    return droppedSpans;
  }

  synchronized int heldTraces() {
    return traces.size();
  }

  synchronized int heldSpans() {
    return heldSpans;
  }

  int maxTraces() {
    return maxTraces;
  }

  int maxSpans() {
    return maxSpans;
  }
}
