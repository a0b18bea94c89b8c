package io.goscope.e2e.k8s;

import io.goscope.e2e.AgentProcess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.e2e.k8s.TracedNode.RunningPod;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.goscope.testing.PodCgroup.QosClass;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A traced app crashes and its container restarts (new pid, same pod): tracing resumes, the agent keeps running. */
class AppRestartTest {
  private static final String RULES = """
      rules:
        - name: orders
          match: {namespace: shop, owner: {kind: Deployment, name: orders}}
      """;

  @TempDir Path work;

  @BeforeAll
  static void requireNode() {
    TracedNode.assumeNode();
  }

  @Test
  void spansResumeAfterTheAppRestartsWithoutRestartingTheAgent() throws Exception {
    try (TracedNode node = TracedNode.create(work, "orders.yaml", RULES)) {
      AgentProcess agent = node.startAgent(Map.of());
      long agentPid = agent.pid();
      FakeCluster.Workload orders = node.cluster().deployment("shop", "orders", "84c7f9d6b",
          Map.of("app", "orders"), TracedNode.IMAGE);
      RunningPod pod = node.runPod(orders, "orders-84c7f9d6b-r4ndm", QosClass.BURSTABLE, Map.of(), Map.of());
      long first = pod.pid();
      node.awaitInstrumented(first);
      node.get(pod, "/hello/first-life");
      node.awaitSpansWithPathPrefix("/hello/first-life", 1, Duration.ofSeconds(30));

      long t0 = System.nanoTime();
      TracedNode.Restart restart = node.restartAndAwaitReattach(pod);
      long millis = (System.nanoTime() - t0) / 1_000_000;
      long second = restart.pid();
      String reattached = restart.instrumented();
      assertTrue(reattached.contains("reattach=true"), "logged as a re-attach: " + reattached);

      for (int i = 0; i < 3; i++) {
        node.get(pod, "/hello/second-life-" + i);
      }
      List<ReceivedSpan> spans = node.awaitSpansWithPathPrefix("/hello/second-life-", 3, Duration.ofSeconds(30));
      assertEquals(3, spans.size(), spans.toString());
      for (ReceivedSpan s : spans) {
        assertEquals(second, s.resourceAttributes().get("process.pid"), s.toString());
        assertEquals("orders-84c7f9d6b-r4ndm", s.resourceAttributes().get("k8s.pod.name"), s.toString());
        assertEquals(pod.uid(), s.resourceAttributes().get("k8s.pod.uid"), s.toString());
      }
      assertTrue(agent.isAlive());
      assertEquals(agentPid, agent.pid(), "same agent");
      System.out.println("restart -> re-instrumented ms=" + millis);
    }
  }
}
