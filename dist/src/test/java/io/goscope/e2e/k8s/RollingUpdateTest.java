package io.goscope.e2e.k8s;

import io.goscope.e2e.AgentProcess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.e2e.k8s.TracedNode.RunningPod;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.goscope.testing.PodCgroup.QosClass;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling update of a 3-replica Deployment: a new ReplicaSet's pods start one by one and the old ones stop;
 * afterwards spans come from the new pods only, named by the new ReplicaSet, and the old pids are detached.
 */
class RollingUpdateTest {
  private static final String RULES = """
      rules:
        - name: frontend
          match: {namespace: web, labels: {app: frontend}}
      """;

  @TempDir Path work;

  @BeforeAll
  static void requireNode() {
    TracedNode.assumeNode();
  }

  @Test
  void spansComeFromTheNewReplicaSetAfterARollingUpdate() throws Exception {
    try (TracedNode node = TracedNode.create(work, "web.yaml", RULES)) {
      AgentProcess agent = node.startAgent(Map.of());
      FakeCluster.Workload v1 = node.cluster().deployment("web", "frontend", "5d8f7c6b4",
          Map.of("app", "frontend"), TracedNode.IMAGE);
      List<RunningPod> old = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        RunningPod p = node.runPod(v1, "frontend-5d8f7c6b4-old" + i, QosClass.BURSTABLE, Map.of(), Map.of());
        node.awaitInstrumented(p.pid());
        old.add(p);
      }
      // The new ReplicaSet of the same Deployment (the Deployment object already exists).
      FakeCluster.Workload v2 = node.cluster().replicaSet(v1, "7f9c8b5d6");
      long t0 = System.nanoTime();
      List<RunningPod> fresh = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        int mark = agent.lineCount();
        RunningPod p = node.runPod(v2, "frontend-7f9c8b5d6-new" + i, QosClass.BURSTABLE, Map.of(), Map.of());
        node.awaitInstrumented(mark, p.pid());
        fresh.add(p);
        RunningPod gone = old.get(i);
        node.stopPod(gone);
        agent.awaitLineAfter(mark, l -> l.contains("process detached pid=" + gone.pid() + " "),
            Duration.ofSeconds(20));
      }
      long millis = (System.nanoTime() - t0) / 1_000_000;
      for (RunningPod p : fresh) {
        for (int i = 0; i < 2; i++) {
          node.get(p, "/hello/after-rollout-" + p.name() + "-" + i);
        }
      }
      List<ReceivedSpan> spans = node.awaitSpansWithPathPrefix("/hello/after-rollout-", 6, Duration.ofSeconds(30));
      assertEquals(6, spans.size(), spans.toString());
      Set<Object> pods = spans.stream().map(s -> s.resourceAttributes().get("k8s.pod.name"))
          .collect(Collectors.toSet());
      assertEquals(Set.of("frontend-7f9c8b5d6-new0", "frontend-7f9c8b5d6-new1", "frontend-7f9c8b5d6-new2"), pods);
      for (ReceivedSpan s : spans) {
        assertEquals("frontend-7f9c8b5d6", s.resourceAttributes().get("k8s.replicaset.name"), s.toString());
        assertEquals("frontend", s.resourceAttributes().get("k8s.deployment.name"), s.toString());
        assertEquals("frontend", s.resourceAttributes().get("service.name"), s.toString());
        assertTrue(String.valueOf(s.attributes().get("url.path")).contains(
            String.valueOf(s.resourceAttributes().get("k8s.pod.name"))), "span routed to its own pod: " + s);
      }
      System.out.println("rolling update of 3 replicas ms=" + millis);
    }
  }
}
