package io.goscope.plugins.console;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.trace.StatusCode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The spans of one trace arranged by parent, for printing as an indented tree:
 *
 * <pre>
 * trace 4bf92f3577b34da6a3ce929d0e0e4736  2 services, 4 spans, 12.4 ms
 * └─ front  SERVER  GET /checkout/1                         12.4 ms  200
 *    ├─ front  CLIENT  GET http://127.0.0.1:8081/inventory/1  3.12 ms  200
 *    │  └─ back  SERVER  GET /inventory/1                    2.20 ms  200
 *    └─ front  CLIENT  GET http://127.0.0.1:8081/fail/1       1.05 ms  ERROR 500
 * </pre>
 *
 * Children, and the roots, are ordered by start time (then span id). A span whose parent is not among the spans
 * (the parent was dropped, is still to come, or lives in a process nobody traces) is printed as a root of the trace
 * and marked; so is a span caught in a parent cycle, which real ids never form. A trace can have several roots.
 * Pure: no I/O, no clock.
 */
final class TraceTree {
  /** Longest label printed; longer ones are cut. */
  static final int MAX_LABEL_LENGTH = 64;

  /** The characters that draw the tree: box drawing where the output can encode it, ASCII otherwise. */
  enum Glyphs {
    UNICODE("├─ ", "└─ ", "│  ", "   ", "…"),
    ASCII("|- ", "`- ", "|  ", "   ", "...");

    final String branch;
    final String lastBranch;
    final String bar;
    final String space;
    final String ellipsis;

    Glyphs(String branch, String lastBranch, String bar, String space, String ellipsis) {
      this.branch = branch;
      this.lastBranch = lastBranch;
      this.bar = bar;
      this.space = space;
      this.ellipsis = ellipsis;
    }
  }

  /** One span and its children, in start order. */
  static final class Node {
    final TraceSpan span;
    final List<Node> children = new ArrayList<>();
    /** Why this span is a root although it names a parent, or null. */
    String note;

    Node(TraceSpan span) {
      this.span = span;
    }
  }

  private static final Comparator<Node> BY_START = Comparator
      .comparingLong((Node n) -> n.span.startEpochNanos()).thenComparing(n -> n.span.spanId());

  private final String traceId;
  private final List<Node> roots;
  private final int spanCount;
  private final int serviceCount;
  private final long durationNanos;
  private final long droppedSpans;

  private TraceTree(String traceId, List<Node> roots, int spanCount, int serviceCount, long durationNanos,
      long droppedSpans) {
    this.traceId = traceId;
    this.roots = roots;
    this.spanCount = spanCount;
    this.serviceCount = serviceCount;
    this.durationNanos = durationNanos;
    this.droppedSpans = droppedSpans;
  }

  /**
   * Arranges {@code spans} (all of trace {@code traceId}); {@code droppedSpans} of the trace were not kept and are
   * reported in the header.
   */
  static TraceTree build(String traceId, Collection<TraceSpan> spans, long droppedSpans) {
    requireNonNull(traceId, "traceId");
    List<Node> nodes = new ArrayList<>(spans.size());
    for (TraceSpan s : spans) {
      nodes.add(new Node(s));
    }
    nodes.sort(BY_START);
    Map<String, Node> byId = new HashMap<>();
    for (Node n : nodes) {
      byId.putIfAbsent(n.span.spanId(), n); // a repeated span id: the first one gets the children
    }
    List<Node> roots = new ArrayList<>();
    Map<Node, Node> parentOf = new IdentityHashMap<>();
    for (Node n : nodes) {
      if (!n.span.hasParent()) {
        roots.add(n);
        continue;
      }
      Node parent = byId.get(n.span.parentSpanId());
      if (parent == null || parent == n) {
        n.note = parent == null ? "parent " + n.span.parentSpanId() + " not seen" : "its own parent";
        roots.add(n);
      } else {
        parent.children.add(n); // in start order, as nodes are
        parentOf.put(n, parent);
      }
    }
    // Spans not reachable from a root sit on a parent cycle: cut each cycle at its earliest span.
    Set<Node> reached = Collections.newSetFromMap(new IdentityHashMap<>());
    roots.forEach(r -> reach(r, reached));
    for (Node n : nodes) {
      if (!reached.contains(n)) {
        parentOf.get(n).children.remove(n);
        n.note = "parent " + n.span.parentSpanId() + " is its own descendant";
        roots.add(n);
        reach(n, reached);
      }
    }
    roots.sort(BY_START);
    Set<String> services = new HashSet<>();
    long start = Long.MAX_VALUE;
    long end = Long.MIN_VALUE;
    for (Node n : nodes) {
      services.add(n.span.service());
      start = Math.min(start, n.span.startEpochNanos());
      end = Math.max(end, n.span.endEpochNanos());
    }
    return new TraceTree(traceId, List.copyOf(roots), nodes.size(), services.size(),
        nodes.isEmpty() ? 0 : Math.max(0, end - start), droppedSpans);
  }

  private static void reach(Node root, Set<Node> reached) {
    Deque<Node> todo = new ArrayDeque<>();
    todo.push(root);
    while (!todo.isEmpty()) {
      Node n = todo.pop();
      if (reached.add(n)) {
        n.children.forEach(todo::push);
      }
    }
  }

  String traceId() {
    return traceId;
  }

  List<Node> roots() {
    return roots;
  }

  int spanCount() {
    return spanCount;
  }

  int serviceCount() {
    return serviceCount;
  }

  /** From the earliest start to the latest end. */
  long durationNanos() {
    return durationNanos;
  }

  /** The header line, then one line per span, depth first; durations aligned in one column. */
  List<String> render(Glyphs glyphs) {
    StringBuilder header = new StringBuilder(96).append("trace ").append(traceId).append("  ")
        .append(count(serviceCount, "service")).append(", ").append(count(spanCount, "span")).append(", ")
        .append(duration(durationNanos));
    if (droppedSpans > 0) {
      header.append(", ").append(count(droppedSpans, "span")).append(" dropped (buffer full)");
    }
    record Row(String left, String duration, String status, String note) {}
    List<Row> rows = new ArrayList<>(spanCount);
    Deque<Frame> todo = new ArrayDeque<>();
    pushAll(todo, roots, "");
    while (!todo.isEmpty()) {
      Frame f = todo.pop();
      TraceSpan s = f.node.span;
      String left = f.indent + (f.last ? glyphs.lastBranch : glyphs.branch) + s.service() + "  " + s.kind() + "  "
          + cut(s.label(), glyphs);
      rows.add(new Row(left, duration(s.durationNanos()), status(s), f.node.note));
      pushAll(todo, f.node.children, f.indent + (f.last ? glyphs.space : glyphs.bar));
    }
    int leftWidth = 0;
    int durationWidth = 0;
    for (Row r : rows) {
      leftWidth = Math.max(leftWidth, r.left.codePointCount(0, r.left.length()));
      durationWidth = Math.max(durationWidth, r.duration.length());
    }
    List<String> lines = new ArrayList<>(rows.size() + 1);
    lines.add(header.toString());
    for (Row r : rows) {
      StringBuilder sb = new StringBuilder(leftWidth + 40).append(r.left);
      sb.append(" ".repeat(leftWidth - r.left.codePointCount(0, r.left.length()) + 2));
      sb.append(" ".repeat(durationWidth - r.duration.length())).append(r.duration);
      sb.append("  ").append(r.status);
      if (r.note != null) {
        sb.append("  (").append(r.note).append(')');
      }
      lines.add(sb.toString());
    }
    return lines;
  }

  private static void pushAll(Deque<Frame> todo, List<Node> nodes, String indent) {
    for (int i = nodes.size() - 1; i >= 0; i--) { // pushed in reverse: popped in start order
      todo.push(new Frame(nodes.get(i), indent, i == nodes.size() - 1));
    }
  }

  private record Frame(Node node, String indent, boolean last) {}

  /** {@code 0.412 ms}, {@code 3.12 ms}, {@code 12.4 ms}, {@code 1.25 s}: three significant digits or so. */
  static String duration(long nanos) {
    double ms = Math.max(0, nanos) / 1e6;
    if (ms >= 1000) {
      return String.format(Locale.ROOT, "%.2f s", ms / 1000);
    }
    String pattern = ms >= 100 ? "%.0f ms" : ms >= 10 ? "%.1f ms" : ms >= 1 ? "%.2f ms" : "%.3f ms";
    return String.format(Locale.ROOT, pattern, ms);
  }

  /**
   * {@code 200} (unset status, HTTP status code), {@code ERROR 500}, {@code ERROR connection refused},
   * {@code OK}, {@code UNSET} (no HTTP status).
   */
  static String status(TraceSpan s) {
    String detail = s.statusDetail();
    if (s.status() == StatusCode.UNSET) {
      return detail.isEmpty() ? "UNSET" : detail;
    }
    return detail.isEmpty() ? s.status().name() : s.status().name() + " " + detail;
  }

  private static String count(long n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }

  private static String cut(String label, Glyphs glyphs) {
    String oneLine = label.replace('\n', ' ').replace('\r', ' ');
    if (oneLine.codePointCount(0, oneLine.length()) <= MAX_LABEL_LENGTH) {
      return oneLine;
    }
    int end = oneLine.offsetByCodePoints(0, MAX_LABEL_LENGTH - glyphs.ellipsis.length());
    return oneLine.substring(0, end) + glyphs.ellipsis;
  }
}
