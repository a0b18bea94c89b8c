package io.goscope.e2e.k8s;

import io.goscope.e2e.AgentProcess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.GoBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 200 rapid start/stop cycles of a traced Go process (plain processes, for speed), some killed before, some during
 * and some after their attach: afterwards the agent's file descriptors (BPF maps, programs, links, perf events)
 * return to the baseline and its heap after a full GC stays flat.
 */
class ProcessChurnTest {
  private static final int CYCLES = 200;
  private static final int FD_TOLERANCE = 3;
  private static final long HEAP_TOLERANCE_BYTES = 8L << 20;
  private static final String RULES = """
      rules:
        - name: churn
          match: {executable: churn-app}
      """;

  @TempDir Path work;

  @BeforeAll
  static void requireNode() {
    TracedNode.assumeNode();
  }

  @Test
  void agentResourcesReturnToBaselineAfterChurn() throws Exception {
    try (TracedNode node = TracedNode.create(work, "churn.yaml", RULES)) {
      AgentProcess agent = node.startAgent(Map.of());
      Path app = GoBuilder.copy(TracedNode.demoBinary(work), work.resolve("churn-app"));

      cycle(app, node, agent, true); // warm-up: one full attach/detach, so lazily created state exists
      awaitSettled(agent, Duration.ofSeconds(20));
      Map<String, Integer> fdsBefore = agent.fdsByKind();
      long heapBefore = agent.heapUsedAfterGc();

      long t0 = System.nanoTime();
      Random random = new Random(42);
      for (int i = 0; i < CYCLES; i++) {
        Process p = new ProcessBuilder(app.toString(), "-addr", "127.0.0.1:0").redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Thread.sleep(random.nextInt(120)); // 0..119 ms: before, during or after the attach
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
      long churnMillis = (System.nanoTime() - t0) / 1_000_000;
      awaitSettled(agent, Duration.ofSeconds(30));
      Thread.sleep(3000); // the dispatcher forgets a detached pid 2 s after its detach
      Map<String, Integer> fdsAfter = agent.fdsByKind();
      long heapAfter = agent.heapUsedAfterGc();
      int instrumented = agent.linesContaining("process instrumented pid=").size()
          + agent.linesContaining("short-lived process traced pid=").size();
      int detached = agent.linesContaining("process detached pid=").size();
      int notInstrumented = agent.linesContaining("process not instrumented pid=").size();
      String report = "churn cycles=" + CYCLES + " ms=" + churnMillis + " instrumented=" + instrumented
          + " detached=" + detached + " notInstrumented=" + notInstrumented + " fdsBefore=" + fdsBefore
          + " fdsAfter=" + fdsAfter + " heapBeforeKiB=" + heapBefore / 1024 + " heapAfterKiB=" + heapAfter / 1024;
      System.out.println(report);

      assertTrue(instrumented >= 20, "churn exercised attaches: " + report);
      assertEquals(agent.linesContaining("process instrumented pid=").size(), detached,
          "every attach was detached: " + report);
      for (String kind : new String[] {"bpf-map", "bpf-prog", "bpf_link", "perf_event"}) {
        assertEquals(fdsBefore.getOrDefault(kind, 0), fdsAfter.getOrDefault(kind, 0), kind + ": " + report);
      }
      assertTrue(Math.abs(fdsAfter.get("total") - fdsBefore.get("total")) <= FD_TOLERANCE, report);
      assertTrue(heapAfter - heapBefore <= HEAP_TOLERANCE_BYTES, "heap flat: " + report);
      assertTrue(agent.isAlive(), report);
    }
  }

  /** One start, attach, stop. */
  private static void cycle(Path app, TracedNode node, AgentProcess agent, boolean awaitAttach) throws Exception {
    int mark = agent.lineCount();
    Process p = new ProcessBuilder(app.toString(), "-addr", "127.0.0.1:0").redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (awaitAttach) {
      node.awaitInstrumented(mark, p.pid());
    }
    p.destroyForcibly();
    p.waitFor(5, TimeUnit.SECONDS);
  }

  /** Waits until every instrumented process, and every binary attached for its processes, has been detached. */
  private static void awaitSettled(AgentProcess agent, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (agent.linesContaining("process instrumented pid=").size()
        != agent.linesContaining("process detached pid=").size()
        || agent.linesContaining("binary attached for all its processes").size()
        != agent.linesContaining("binary detached binary=").size()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("agent did not detach every process within " + timeout + ":\n"
            + String.join("\n", agent.output()));
      }
      Thread.sleep(100);
    }
  }
}
