package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/goscope demo} as a newcomer runs it ({@code make demo}): the bundled server as demo-front and demo-back,
 * the real agent, the console exporter. Its output must show each request as one tree across both processes: the
 * front's server span, its client calls (one from the handler goroutine, two from goroutines), and under each call
 * the back's server span, which joined the front's trace by propagation. Statuses and histograms are there too, and
 * the demo leaves nothing running behind.
 */
class DemoCommandE2ETest {
  private static final Pattern HEADER =
      Pattern.compile("^trace ([0-9a-f]{32})  (\\d+) services?, (\\d+) spans?, [0-9.]+ m?s(.*)$");
  /** A tree line, box drawing or ASCII: indent, connector, service, kind, label, duration, status, note. */
  private static final Pattern LINE = Pattern.compile(
      "^((?:│  |\\|  | {3})*)(?:├─|└─|\\|-|`-) (\\S+)  (\\S+)  (.+?) +([0-9.]+ m?s)  (.+?)(?:  \\((.+)\\))?$");

  /** A log line on standard error: "2026-01-02T10:15:30.123Z WARN [thread] ..." or "[thread] WARN ...". */
  private static final Pattern LOG = Pattern.compile("^(\\d{4}-\\d\\d-\\d\\dT\\S+ [A-Z]+ \\[|\\[\\S+\\] [A-Z]+ )");

  record Span(int depth, String service, String kind, String label, String status, String note, List<Span> children) {
    String path() {
      String target = label.substring(label.indexOf(' ') + 1);
      return target.startsWith("http") ? URI.create(target).getPath() : target;
    }
  }

  record Trace(String id, int services, int spans, String rest, List<Span> roots) {}

  private static List<String> output;
  private static int exit;

  @BeforeAll
  static void runTheDemo() throws Exception {
    BpfAssumptions.assumeBpf();
    try (AgentProcess demo = AgentProcess.start(Map.of(), "demo")) {
      exit = demo.awaitExit(Duration.ofSeconds(240));
      output = demo.output();
    }
  }

  private static String all() {
    return String.join("\n", output);
  }

  /** Every tree printed, in order. Log lines (from stderr) may fall between tree lines. */
  static List<Trace> traces(List<String> lines) {
    List<Trace> traces = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher h = HEADER.matcher(lines.get(i));
      if (!h.matches()) {
        continue;
      }
      List<Span> roots = new ArrayList<>();
      Deque<Span> open = new ArrayDeque<>();
      for (i++; i < lines.size() && !lines.get(i).isEmpty(); i++) {
        Matcher m = LINE.matcher(lines.get(i));
        if (!m.matches()) {
          assertTrue(LOG.matcher(lines.get(i)).find(), "neither a tree line nor a log line: " + lines.get(i));
          continue;
        }
        int depth = m.group(1).length() / 3;
        Span s = new Span(depth, m.group(2), m.group(3), m.group(4), m.group(6), m.group(7), new ArrayList<>());
        while (!open.isEmpty() && open.peek().depth() >= depth) {
          open.pop();
        }
        if (open.isEmpty()) {
          assertEquals(0, depth, lines.get(i));
          roots.add(s);
        } else {
          assertEquals(open.peek().depth() + 1, depth, lines.get(i));
          open.peek().children().add(s);
        }
        open.push(s);
      }
      traces.add(new Trace(h.group(1), Integer.parseInt(h.group(2)), Integer.parseInt(h.group(3)), h.group(4),
          roots));
    }
    return traces;
  }

  /** The one trace whose root is the front's server span for {@code path}. */
  private static Trace traceOf(String path) {
    List<Trace> found = traces(output).stream()
        .filter(t -> t.roots().stream().anyMatch(r -> r.label().equals("GET " + path))).toList();
    assertEquals(1, found.size(), "one trace for " + path + " in:\n" + all());
    return found.get(0);
  }

  private static void assertSpan(Span s, String service, String kind, String path, String status) {
    assertEquals(service, s.service(), s.toString());
    assertEquals(kind, s.kind(), s.toString());
    assertEquals(path, s.path(), s.toString());
    assertEquals(status, s.status(), s.toString());
    assertNull(s.note(), "its parent is in the trace: " + s);
  }

  @Test
  void theCheckoutIsOneTreeAcrossFrontAndBack() {
    assertEquals(0, exit, all());
    Trace t = traceOf("/checkout/1");
    assertEquals(2, t.services(), all());
    assertEquals(7, t.spans(), all());
    assertEquals("", t.rest(), "nothing dropped: " + t);
    assertEquals(1, t.roots().size(), t.toString());
    Span root = t.roots().get(0);
    assertSpan(root, "demo-front", "SERVER", "/checkout/1", "200");
    Map<String, Span> calls = root.children().stream().collect(Collectors.toMap(Span::path, c -> c));
    assertEquals(3, root.children().size(), root.toString());
    Map<String, String> expected = Map.of("/inventory/1", "200", "/price/1", "200",
        "/recommendations/1", "ERROR 500");
    assertEquals(expected.keySet(), calls.keySet(), root.toString());
    expected.forEach((path, status) -> {
      Span call = calls.get(path);
      assertSpan(call, "demo-front", "CLIENT", path, status);
      assertEquals(1, call.children().size(), "the back's server span is the call's child: " + call);
      Span callee = call.children().get(0);
      assertSpan(callee, "demo-back", "SERVER", path, status);
      assertEquals(List.of(), callee.children());
    });
  }

  @Test
  void aNotFoundShowsOnEveryHop() {
    assertEquals(0, exit, all());
    Trace t = traceOf("/cart/7");
    assertEquals(3, t.spans(), t.toString());
    Span root = t.roots().get(0);
    assertSpan(root, "demo-front", "SERVER", "/cart/7", "404");
    assertEquals(1, root.children().size(), root.toString());
    Span call = root.children().get(0);
    assertSpan(call, "demo-front", "CLIENT", "/cart/7", "ERROR 404"); // 4xx is an error on a client span only
    assertSpan(call.children().get(0), "demo-back", "SERVER", "/cart/7", "404");
  }

  @Test
  void noSpanOfTheBackStartsATraceOfItsOwn() {
    List<Trace> traces = traces(output);
    assertEquals(2, traces.size(), all());
    for (Trace t : traces) {
      assertEquals(1, t.roots().size(), t.toString());
      assertEquals("demo-front", t.roots().get(0).service(), t.toString());
    }
  }

  @Test
  void itSaysWhichPropagationIsActiveAndWhatItDid() {
    String line = output.stream().filter(l -> l.startsWith("goscope demo: propagation")).findFirst()
        .orElseThrow(() -> new AssertionError("no propagation line in:\n" + all()));
    // The demo logs at WARN, so its own line is where the mode shows: never "unavailable" on a host this test runs
    // on; under lockdown HTTP/1.1 goes through the socket programs, one header per call of the two requests.
    if (line.startsWith("goscope demo: propagation: socket-level")) {
      assertTrue(line.contains("inserted traceparent into 4 cleartext HTTP/1.1 requests"), line);
      assertTrue(line.contains("BPF memory writes are refused on this host"), line);
    } else {
      assertTrue(line.startsWith("goscope demo: propagation: the agent wrote traceparent"), line);
    }
  }

  @Test
  void histogramsFollowAndNothingIsLeftRunning() throws Exception {
    assertEquals(0, exit, all());
    assertTrue(output.stream().anyMatch(l -> l.matches("metric demo-front pid=\\d+ http\\.client\\.request\\.duration "
        + "count=1 .*error\\.type=500 .*")), all());
    assertTrue(output.stream().anyMatch(l -> l.matches("metric demo-back pid=\\d+ http\\.server\\.request\\.duration "
        + "count=2 .*http\\.response\\.status_code=200 .*")), all());
    Matcher pids = Pattern.compile("tracing demo-back \\(pid (\\d+),.*demo-front \\(pid (\\d+),").matcher(all());
    assertTrue(pids.find(), all());
    for (String pid : List.of(pids.group(1), pids.group(2))) {
      assertFalse(ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false),
          "demo server " + pid + " stopped");
    }
    Matcher rules = Pattern.compile("GOSCOPE_RULES_DIR=(\\S+)\\):").matcher(all());
    assertTrue(rules.find(), all());
    assertFalse(Files.exists(Path.of(rules.group(1))), "the demo's rule directory is removed");
  }

  @Test
  void treeParserReadsBothGlyphSets() {
    List<String> ascii = List.of(
        "trace 0af7651916cd43dd8448eb211c80319c  2 services, 3 spans, 1.00 ms",
        "`- f  SERVER  GET /a          1.00 ms  200",
        "   `- f  CLIENT  GET http://h:1/b  0.500 ms  ERROR 500",
        "[x] INFO something logged meanwhile",
        "2026-11-29T18:38:09.150318950Z WARN [main] io.goscope.platform.agent.Agent - and something else",
        "      `- b  SERVER  GET /b    0.100 ms  ERROR 500  (parent 1 not seen)",
        "");
    List<String> unicode = ascii.stream().map(l -> l.replace("`-", "└─")).toList();
    for (List<String> lines : List.of(ascii, unicode)) {
      List<Trace> traces = traces(lines);
      assertEquals(1, traces.size());
      Span root = traces.get(0).roots().get(0);
      assertEquals("/a", root.path());
      Span call = root.children().get(0);
      assertEquals("/b", call.path());
      assertEquals("ERROR 500", call.status());
      assertEquals("parent 1 not seen", call.children().get(0).note());
    }
  }
}
