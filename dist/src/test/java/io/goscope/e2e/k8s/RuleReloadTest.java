package io.goscope.e2e.k8s;

import io.goscope.e2e.AgentProcess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.e2e.k8s.TracedNode.RunningPod;
import io.goscope.testing.PodCgroup.QosClass;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rules change while the agent runs: a new rule file starts tracing a running pod, deleting it stops tracing (no
 * spans for new requests), and a broken file keeps the last good rules while the log names {@code file:line}.
 */
class RuleReloadTest {
  private static final String SELECT_BILLING = """
      rules:
        - name: billing
          match: {namespace: billing, labels: {app: invoices}}
      """;

  @TempDir Path work;

  @BeforeAll
  static void requireNode() {
    TracedNode.assumeNode();
  }

  @Test
  void ruleFilesAddedRemovedAndBrokenAtRunTime() throws Exception {
    try (TracedNode node = TracedNode.create(work, "unused.yaml", null)) {
      AgentProcess agent = node.startAgent(Map.of());
      FakeCluster.Workload invoices = node.cluster().deployment("billing", "invoices", "6c5b4a3d2",
          Map.of("app", "invoices"), TracedNode.IMAGE);
      RunningPod pod = node.runPod(invoices, "invoices-6c5b4a3d2-q7k2m", QosClass.GUARANTEED, Map.of(), Map.of());

      node.get(pod, "/hello/before-rule");
      TracedNode.quietPeriod();
      assertEquals(List.of(), node.spansWithPathPrefix("/hello/before-rule"), "no rule, no tracing");

      int mark = agent.lineCount();
      long t0 = System.nanoTime();
      node.writeRules("billing.yaml", SELECT_BILLING);
      node.awaitInstrumented(mark, pod.pid());
      long addMillis = (System.nanoTime() - t0) / 1_000_000;
      node.get(pod, "/hello/with-rule");
      assertEquals(1, node.awaitSpansWithPathPrefix("/hello/with-rule", 1, Duration.ofSeconds(30)).size());
      assertEquals("invoices", node.spansWithPathPrefix("/hello/with-rule").get(0).resourceAttributes()
          .get("service.name"));

      // A broken edit: the old rules stay, the pod stays traced, the log names file:line.
      mark = agent.lineCount();
      node.writeRules("billing.yaml", SELECT_BILLING + "    options: {sampling: [not, a, number]}\n");
      String rejected = agent.awaitLineAfter(mark, l -> l.contains("rule file rejected"), Duration.ofSeconds(20));
      assertTrue(rejected.matches(".*billing\\.yaml:\\d+:\\d+.*"), "names file:line:col: " + rejected);
      node.get(pod, "/hello/after-broken-edit");
      assertEquals(1, node.awaitSpansWithPathPrefix("/hello/after-broken-edit", 1, Duration.ofSeconds(30)).size(),
          "last good rules still trace the pod");
      assertTrue(agent.linesContaining("process detached pid=" + pod.pid() + " ").isEmpty(), "never detached");

      mark = agent.lineCount();
      t0 = System.nanoTime();
      node.deleteRules("billing.yaml");
      agent.awaitLineAfter(mark, l -> l.contains("process detached pid=" + pod.pid() + " ")
          && l.contains("no longer selected"), Duration.ofSeconds(30));
      long removeMillis = (System.nanoTime() - t0) / 1_000_000;
      node.get(pod, "/hello/rule-removed");
      TracedNode.quietPeriod();
      assertEquals(List.of(), node.spansWithPathPrefix("/hello/rule-removed"), "no spans after the rule went");
      assertTrue(pod.sandbox().isAlive(), "the app itself is untouched");
      System.out.println("rule added -> instrumented ms=" + addMillis + "; rule removed -> detached ms="
          + removeMillis);
    }
  }
}
