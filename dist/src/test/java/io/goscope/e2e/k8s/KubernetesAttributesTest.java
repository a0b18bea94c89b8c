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

/**
 * Pods stood up the way a node really looks (overlay root, own PID namespace, kubepods cgroup) and described by a
 * (fake) API server: the agent selects them by namespace and label, names them with exact {@code k8s.*}
 * attributes, leaves excluded pods alone, and tells apart two apps with the same binary in two namespaces.
 */
class KubernetesAttributesTest {
  private static final String RULES = """
      rules:
        - name: shop-checkout
          match: {namespace: shop, labels: {app: checkout}}
        - name: team-apis
          match: {namespace: "team-*", labels: {app: api}}
      exclude:
        - name: no-canaries
          match: {labels: {track: canary}}
      """;

  @TempDir Path work;

  @BeforeAll
  static void requireNode() {
    TracedNode.assumeNode();
  }

  @Test
  void selectedPodSpansCarryExactKubernetesAttributesAndExcludedPodIsNotTraced() throws Exception {
    try (TracedNode node = TracedNode.create(work, "shop.yaml", RULES)) {
      AgentProcess agent = node.startAgent(Map.of());
      FakeCluster.Workload checkout = node.cluster().deployment("shop", "checkout", "7d4b9c6f5",
          Map.of("app", "checkout"), TracedNode.IMAGE);
      RunningPod stable = node.runPod(checkout, "checkout-7d4b9c6f5-x2x9z", QosClass.BURSTABLE, Map.of(),
          Map.of("team", "payments"));
      RunningPod canary = node.runPod(checkout, "checkout-7d4b9c6f5-canry", QosClass.BEST_EFFORT,
          Map.of("track", "canary"), Map.of());
      node.awaitInstrumented(stable.pid());

      for (int i = 0; i < 5; i++) {
        node.get(stable, "/hello/stable-" + i);
        node.get(canary, "/hello/canary-" + i);
      }
      List<ReceivedSpan> spans = node.awaitSpansWithPathPrefix("/hello/stable-", 5, Duration.ofSeconds(30));
      assertEquals(5, spans.size(), "one span per request: " + spans);
      String containerId = stable.sandbox().containerId();
      for (ReceivedSpan s : spans) {
        Map<String, Object> r = s.resourceAttributes();
        String where = s + "";
        assertEquals("checkout-7d4b9c6f5-x2x9z", r.get("k8s.pod.name"), where);
        assertEquals(stable.uid(), r.get("k8s.pod.uid"), where);
        assertEquals("shop", r.get("k8s.namespace.name"), where);
        assertEquals(TracedNode.NODE, r.get("k8s.node.name"), where);
        assertEquals("checkout", r.get("k8s.container.name"), where);
        assertEquals(containerId, r.get("container.id"), where);
        assertEquals("checkout", r.get("k8s.deployment.name"), where);
        assertEquals("checkout-7d4b9c6f5", r.get("k8s.replicaset.name"), where);
        assertEquals("checkout", r.get("service.name"), "derived from the Deployment: " + where);
        assertEquals("shop", r.get("service.namespace"), where);
        assertEquals("1.4.2", r.get("service.version"), "from the image tag: " + where);
        assertEquals(stable.pid(), r.get("process.pid"), "host pid, not the namespaced 1: " + where);
      }
      assertEquals(List.of(), node.spansWithPathPrefix("/hello/canary-"), "excluded pod is not traced");
      assertTrue(agent.linesContaining("process instrumented pid=" + canary.pid() + " ").isEmpty(),
          "excluded pod never instrumented");
    }
  }

  @Test
  void sameBinaryInTwoNamespacesIsToldApart() throws Exception {
    try (TracedNode node = TracedNode.create(work, "teams.yaml", RULES)) {
      node.startAgent(Map.of());
      FakeCluster.Workload a = node.cluster().deployment("team-a", "api", "5f6d7c8b9", Map.of("app", "api"),
          TracedNode.IMAGE);
      FakeCluster.Workload b = node.cluster().deployment("team-b", "api", "9b8c7d6f5", Map.of("app", "api"),
          TracedNode.IMAGE);
      RunningPod podA = node.runPod(a, "api-5f6d7c8b9-aaaaa", QosClass.BEST_EFFORT, Map.of(), Map.of());
      RunningPod podB = node.runPod(b, "api-9b8c7d6f5-bbbbb", QosClass.BEST_EFFORT, Map.of(), Map.of());
      node.awaitInstrumented(podA.pid());
      node.awaitInstrumented(podB.pid());
      for (int i = 0; i < 3; i++) {
        node.get(podA, "/hello/a-" + i);
        node.get(podB, "/hello/b-" + i);
      }
      List<ReceivedSpan> spansA = node.awaitSpansWithPathPrefix("/hello/a-", 3, Duration.ofSeconds(30));
      List<ReceivedSpan> spansB = node.awaitSpansWithPathPrefix("/hello/b-", 3, Duration.ofSeconds(30));
      assertEquals(3, spansA.size(), spansA.toString());
      assertEquals(3, spansB.size(), spansB.toString());
      for (ReceivedSpan s : spansA) {
        assertEquals("team-a", s.resourceAttributes().get("k8s.namespace.name"), s.toString());
        assertEquals("team-a", s.resourceAttributes().get("service.namespace"), s.toString());
        assertEquals("api-5f6d7c8b9-aaaaa", s.resourceAttributes().get("k8s.pod.name"), s.toString());
        assertEquals(podA.pid(), s.resourceAttributes().get("process.pid"), s.toString());
        assertEquals("team-a.api-5f6d7c8b9-aaaaa.api", s.resourceAttributes().get("service.instance.id"));
      }
      for (ReceivedSpan s : spansB) {
        assertEquals("team-b", s.resourceAttributes().get("k8s.namespace.name"), s.toString());
        assertEquals("team-b", s.resourceAttributes().get("service.namespace"), s.toString());
        assertEquals("api-9b8c7d6f5-bbbbb", s.resourceAttributes().get("k8s.pod.name"), s.toString());
        assertEquals(podB.pid(), s.resourceAttributes().get("process.pid"), s.toString());
        assertEquals("team-b.api-9b8c7d6f5-bbbbb.api", s.resourceAttributes().get("service.instance.id"));
      }
      assertEquals(TracedNode.BINARY, spansA.get(0).resourceAttributes().get("process.executable.name"));
      assertEquals(TracedNode.BINARY, spansB.get(0).resourceAttributes().get("process.executable.name"));
    }
  }
}
