package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report commands as users run them: {@code goscope doctor} passes here as root and fails, with the right line
 * and its fix, without the BPF capabilities ({@code capsh --drop}) or with {@code HOST_PROC} pointing nowhere; an
 * unreachable OTLP endpoint is a warning; the agent refuses to start on a failed required check. {@code inspect} and
 * {@code doctor} print their report and nothing else on standard output, with no log on standard error unless
 * {@code -v}. The demo prints each histogram once.
 */
class CliReportsE2ETest {
  private static final Pattern TABLE_LINE = Pattern.compile("^(pass|warn|fail)  \\S.*|^ {6}.*fix: .*|^summary: .*");

  @TempDir Path work;

  /** A finished command: exit code, standard output, standard error. */
  record Run(int exit, String out, String err) {
    List<String> outLines() {
      return out.isEmpty() ? List.of() : Arrays.asList(out.split("\n"));
    }

    @Override
    public String toString() {
      return "exit=" + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  static Run run(Map<String, String> env, List<String> prefix, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    if (prefix.isEmpty()) {
      cmd.add(AgentProcess.home().resolve("bin/goscope").toString());
      cmd.addAll(List.of(args));
    } else { // capsh ... -- -c "<command line>"
      cmd.add(AgentProcess.home().resolve("bin/goscope") + " " + String.join(" ", args));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().keySet().removeIf(k -> k.startsWith("OTEL_") || k.startsWith("GOSCOPE_") || k.equals("HOST_PROC")
        || k.equals("NODE_NAME"));
    pb.environment().putAll(env);
    Process p = pb.start();
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    String out = read(p.getInputStream());
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("goscope " + String.join(" ", args) + " did not finish");
    }
    return new Run(p.exitValue(), out, err.get(30, TimeUnit.SECONDS));
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Map<String, String> endpointUp() throws IOException {
    return Map.of("OTEL_TRACES_EXPORTER", "none");
  }

  private static void assertOnlyTable(Run r) {
    for (String line : r.outLines()) {
      assertTrue(TABLE_LINE.matcher(line).matches(), "stdout holds the table and nothing else: '" + line + "'\n" + r);
    }
  }

  private static String lineAfter(Run r, String start) {
    List<String> lines = r.outLines();
    for (int i = 0; i < lines.size() - 1; i++) {
      if (lines.get(i).startsWith(start)) {
        return lines.get(i + 1);
      }
    }
    throw new AssertionError("no line starting '" + start + "':\n" + r);
  }

  @Test
  void doctorPassesHereAsRootQuietly() throws Exception {
    BpfAssumptions.assumeBpf();
    Run r = run(endpointUp(), List.of(), "doctor");
    assertEquals(0, r.exit(), r.toString());
    assertOnlyTable(r);
    assertTrue(r.out().contains("pass  capability CAP_BPF"), r.toString());
    assertTrue(r.out().contains("pass  BPF ring buffer"), r.toString());
    assertFalse(r.out().contains("fail  "), r.toString());
    assertEquals("", r.err(), "no log on stderr at the default level");

    Run json = run(endpointUp(), List.of(), "doctor", "--json");
    assertEquals(0, json.exit(), json.toString());
    assertTrue(json.out().startsWith("{") && json.out().contains("\"ok\": true") && json.out().contains(
        "\"check\": \"capability CAP_PERFMON\""), json.toString());
  }

  @Test
  void doctorFailsWithoutTheBpfCapabilitiesAndTheAgentRefusesToStart() throws Exception {
    BpfAssumptions.assumeBpf();
    BpfAssumptions.assumeCommand("capsh", "--print");
    List<String> dropped = List.of("capsh", "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--", "-c");
    Run r = run(endpointUp(), dropped, "doctor");
    assertEquals(1, r.exit(), r.toString());
    assertOnlyTable(r);
    assertTrue(r.out().contains("fail  capability CAP_BPF"), r.toString());
    assertTrue(lineAfter(r, "fail  capability CAP_BPF").contains("fix: add BPF to securityContext.capabilities.add"),
        r.toString());
    assertTrue(r.out().contains("fail  bpf() system call"), r.toString());
    assertTrue(r.out().contains("EPERM"), r.toString());

    Run agent = run(endpointUp(), dropped, "agent");
    assertEquals(1, agent.exit(), agent.toString());
    assertTrue(agent.err().contains("goscope agent: not starting, a required check failed"), agent.toString());
    assertTrue(agent.err().contains("fail  capability CAP_BPF"), agent.toString());
    assertEquals("", agent.out(), "the table goes to stderr for the agent");
  }

  @Test
  void doctorFailsWithHostProcPointingNowhereAndWarnsOnAnUnreachableEndpoint() throws Exception {
    BpfAssumptions.assumeBpf();
    Map<String, String> nowhere = new HashMap<>(endpointUp());
    nowhere.put("HOST_PROC", work.resolve("nowhere").toString());
    Run r = run(nowhere, List.of(), "doctor");
    assertEquals(1, r.exit(), r.toString());
    assertTrue(r.out().contains("fail  host /proc (HOST_PROC)"), r.toString());
    assertTrue(r.out().contains(work.resolve("nowhere") + " is not a proc file system"), r.toString());
    assertTrue(lineAfter(r, "fail  host /proc").contains("fix: mount the host's /proc"), r.toString());
    Run agent = run(nowhere, List.of(), "agent");
    assertEquals(1, agent.exit(), agent.toString());
    assertTrue(agent.err().contains("fail  host /proc (HOST_PROC)"), agent.toString());

    int closed = GoServer.freePort();
    Run down = run(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + closed), List.of(), "doctor");
    assertEquals(0, down.exit(), "an unreachable endpoint is a warning, not a failure\n" + down);
    assertTrue(down.out().contains("warn  OTLP endpoint"), down.toString());
    assertTrue(lineAfter(down, "warn  OTLP endpoint").contains("fix: check OTEL_EXPORTER_OTLP_ENDPOINT"),
        down.toString());
  }

  @Test
  void inspectPrintsItsReportAndNothingElse() throws Exception {
    Path binary = GoBuilder.build(NetHttpServerE2ETest.demoSource(), work.resolve("inspected"), List.of(),
        Map.of("CGO_ENABLED", "0"));
    Run r = run(Map.of(), List.of(), "inspect", binary.toString());
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().startsWith("binary:     " + binary), r.toString());
    assertTrue(r.out().contains("probe set nethttp: will attach"), r.toString());
    assertEquals("", r.err(), "no plugin-loading logs");

    Run verbose = run(Map.of(), List.of(), "inspect", "-v", binary.toString());
    assertEquals(0, verbose.exit(), verbose.toString());
    assertEquals(r.out(), verbose.out(), "-v changes stderr only");
    assertTrue(verbose.err().contains("INFO") && verbose.err().contains("plugin started"), verbose.toString());
  }

  @Test
  void demoPrintsEachHistogramOnce() throws Exception {
    BpfAssumptions.assumeBpf();
    Run r = run(Map.of(), List.of(), "demo");
    assertEquals(0, r.exit(), r.toString());
    List<String> metricLines = r.outLines().stream().filter(l -> l.startsWith("metric ")).toList();
    assertFalse(metricLines.isEmpty(), r.toString());
    Map<String, Long> perSeries = metricLines.stream().collect(Collectors.groupingBy(
        l -> l.replaceAll(" count=.*? (?=\\S+=)", " ").replaceAll("(sum|min|max)=\\S+ ", ""),
        Collectors.counting()));
    assertTrue(perSeries.values().stream().allMatch(n -> n == 1), "each series printed once: " + metricLines);
    assertTrue(metricLines.stream().noneMatch(l -> l.contains("goscope_")), "no self-metrics in the demo");
  }
}
