package io.goscope.e2e.k8s;

import io.goscope.e2e.AgentProcess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.e2e.k8s.TracedNode.RunningPod;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.goscope.testing.PodCgroup.QosClass;
import io.goscope.testing.PodSandbox;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which path the agent attaches uprobes through, on pods entered the way a container runtime does (the host reads
 * {@code /proc/<pid>/exe} as the path inside the container) that mount the node's shared binaries directory
 * ({@code GOSCOPE_BINARIES_DIR}, here a temporary directory) at its own path, as the DaemonSet's hostPath is:
 * <ul>
 *   <li>an app run from the shared directory is attached through the host's file there, and keeps that path across a
 *       container restart and a replacement pod, with its binary analysed once;
 *   <li>an app run from its image is attached through {@code /proc/<pid>/root/<exe>};
 *   <li>an app whose binary was replaced in the shared directory after it started (a deploy) is attached through
 *       {@code /proc/<pid>/exe}, not through the new file at the same path.
 * </ul>
 */
class SharedBinariesAttachTest {
  private static final String RULES = """
      rules:
        - name: orders
          match: {namespace: shop, owner: {kind: Deployment, name: orders}}
      """;
  private static final Duration SPANS_TIMEOUT = Duration.ofSeconds(30);

  @TempDir Path work;

  @BeforeAll
  static void requireNode() {
    TracedNode.assumeNode();
  }

  @Test
  void appRunFromTheSharedDirectoryIsAttachedThroughItAcrossRestartsAndAnalysedOnce() throws Exception {
    try (TracedNode node = TracedNode.create(work, "orders.yaml", RULES)) {
      Path shared = Files.createDirectories(work.resolve("apm-binaries"));
      Path binary = install(TracedNode.demoBinary(work), shared.resolve(TracedNode.BINARY));
      AgentProcess agent = node.startAgent(Map.of("GOSCOPE_BINARIES_DIR", shared.toString()));
      FakeCluster.Workload orders = node.cluster().deployment("shop", "orders", "84c7f9d6b",
          Map.of("app", "orders"), TracedNode.IMAGE);
      UnaryOperator<PodSandbox.Builder> fromShared = b -> b.rootEntry(PodSandbox.RootEntry.MOVE_MOUNT)
          .hostPath(shared).command(binary.toString(), "-addr", PodSandbox.ADDRESS);
      // Attached once for every process of the shared file: the restart and the replacement need no attach.
      String attachedVia = " path=" + binary + " via=shared binaries directory " + shared + " mode=binary ";

      RunningPod pod = node.runPod(orders, "orders-84c7f9d6b-s7a1r", QosClass.BURSTABLE, Map.of(), Map.of(),
          fromShared);
      long first = pod.pid();
      String attached = node.awaitInstrumented(first);
      assertTrue(attached.contains(" exe=" + binary + " ") && attached.contains(attachedVia),
          "attached through the shared directory: " + attached);
      assertTrue(attached.contains("reattach=false"), attached);
      node.get(pod, "/hello/shared-first");
      assertOneSpanEach(node, "/hello/shared-first", List.of(""), pod, first, binary);

      // the container crashes and restarts: new pid, same binary in the shared directory
      TracedNode.Restart restart = node.restartAndAwaitReattach(pod);
      long second = restart.pid();
      String reattached = restart.instrumented();
      assertTrue(reattached.contains(attachedVia) && reattached.contains("reattach=true"),
          "re-attached through the same shared path: " + reattached);
      for (int i = 0; i < 3; i++) {
        node.get(pod, "/hello/shared-restarted-" + i);
      }
      assertOneSpanEach(node, "/hello/shared-restarted-", List.of("0", "1", "2"), pod, second, binary);

      // the pod is replaced by a new one (new uid, new root) running the same shared binary
      int mark = agent.lineCount();
      node.stopPod(pod);
      RunningPod replacement = node.runPod(orders, "orders-84c7f9d6b-q9w2e", QosClass.BURSTABLE, Map.of(),
          Map.of(), fromShared);
      String replaced = node.awaitInstrumented(mark, replacement.pid());
      assertTrue(replaced.contains(attachedVia) && replaced.contains("reattach=true"),
          "the replacement pod is attached through the same shared path: " + replaced);
      node.get(replacement, "/hello/shared-replaced");
      assertOneSpanEach(node, "/hello/shared-replaced", List.of(""), replacement, replacement.pid(), binary);

      List<String> analysed = agent.linesContaining("binary analysed ");
      assertEquals(1, analysed.size(), "one analysis for three processes of one shared file: " + analysed);
      assertTrue(agent.isAlive());
    }
  }

  @Test
  void appsNotRunFromTheSharedDirectoryAreAttachedThroughTheirRootOrTheirExeLink() throws Exception {
    try (TracedNode node = TracedNode.create(work, "orders.yaml", RULES)) {
      Path shared = Files.createDirectories(work.resolve("apm-binaries"));
      Path demo = TracedNode.demoBinary(work);
      Path deployed = install(demo, shared.resolve(TracedNode.BINARY));
      FakeCluster.Workload orders = node.cluster().deployment("shop", "orders", "84c7f9d6b",
          Map.of("app", "orders"), TracedNode.IMAGE);
      // both pods mount the shared directory; one runs its image's binary, one the shared binary
      RunningPod fromImage = node.runPod(orders, "orders-84c7f9d6b-im4ge", QosClass.BURSTABLE, Map.of(), Map.of(),
          b -> b.rootEntry(PodSandbox.RootEntry.MOVE_MOUNT).hostPath(shared));
      RunningPod stale = node.runPod(orders, "orders-84c7f9d6b-st4le", QosClass.BURSTABLE, Map.of(), Map.of(),
          b -> b.rootEntry(PodSandbox.RootEntry.MOVE_MOUNT).hostPath(shared)
              .command(deployed.toString(), "-addr", PodSandbox.ADDRESS));
      // a deploy replaces the shared binary while the pod runs: its executable is now deleted on disk, and
      // another file (same content, another inode) has its path
      Files.delete(deployed);
      install(demo, deployed);
      assertTrue(Files.readSymbolicLink(Path.of("/proc/" + stale.pid() + "/exe")).toString().endsWith(" (deleted)"));

      node.startAgent(Map.of("GOSCOPE_BINARIES_DIR", shared.toString()));
      String viaRoot = node.awaitInstrumented(fromImage.pid());
      assertTrue(viaRoot.contains(" exe=/app/" + TracedNode.BINARY + " ") && viaRoot.contains(" path=/proc/"
          + fromImage.pid() + "/root/app/" + TracedNode.BINARY
          + " via=process root (overlay), inode verified mode=process uprobes="),
          "attached through the process root: " + viaRoot);
      String viaLink = node.awaitInstrumented(stale.pid());
      assertTrue(viaLink.contains(" path=/proc/" + stale.pid() + "/exe via=exe link (binary deleted on disk) mode=process uprobes="),
          "attached through the exe link, not the new file at the old path: " + viaLink);

      for (int i = 0; i < 2; i++) {
        node.get(fromImage, "/hello/image-" + i);
        node.get(stale, "/hello/deleted-" + i);
      }
      assertOneSpanEach(node, "/hello/image-", List.of("0", "1"), fromImage, fromImage.pid(),
          Path.of("/app/" + TracedNode.BINARY));
      assertOneSpanEach(node, "/hello/deleted-", List.of("0", "1"), stale, stale.pid(), deployed);
    }
  }

  /** Copies {@code binary} to {@code target} (mode 755), as a deploy pipeline puts it into the shared directory. */
  private static Path install(Path binary, Path target) throws Exception {
    Files.copy(binary, target);
    Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
    return target;
  }

  /**
   * Waits for the spans of {@code prefix + suffix} for each suffix and asserts exactly one server span per request,
   * with exact attributes of the request, the pod and the process {@code pid} running {@code exe}.
   */
  private static void assertOneSpanEach(TracedNode node, String prefix, List<String> suffixes, RunningPod pod,
      long pid, Path exe) throws InterruptedException {
    List<ReceivedSpan> spans = node.awaitSpansWithPathPrefix(prefix, suffixes.size(), SPANS_TIMEOUT);
    assertEquals(suffixes.stream().map(s -> prefix + s).sorted().toList(),
        spans.stream().map(s -> (String) s.attributes().get("url.path")).sorted().toList(),
        "one span per request: " + spans);
    for (ReceivedSpan s : spans) {
      String where = s.toString();
      assertEquals("GET", s.name(), where);
      assertEquals("SERVER", s.kind(), where);
      assertEquals("UNSET", s.status(), where);
      assertEquals("GET", s.attributes().get("http.request.method"), where);
      assertEquals("http", s.attributes().get("url.scheme"), where);
      assertEquals(200L, s.attributes().get("http.response.status_code"), where);
      assertEquals((long) pod.sandbox().port(), s.attributes().get("server.port"), where);
      assertEquals("1.1", s.attributes().get("network.protocol.version"), where);
      Map<String, Object> r = s.resourceAttributes();
      assertEquals(pid, r.get("process.pid"), where);
      assertEquals(exe.toString(), r.get("process.executable.path"), where);
      assertEquals(TracedNode.BINARY, r.get("process.executable.name"), where);
      assertEquals(pod.name(), r.get("k8s.pod.name"), where);
      assertEquals(pod.uid(), r.get("k8s.pod.uid"), where);
      assertEquals("shop", r.get("k8s.namespace.name"), where);
      assertEquals(pod.sandbox().containerId(), r.get("container.id"), where);
      assertEquals("orders", r.get("k8s.deployment.name"), where);
      assertEquals("orders", r.get("service.name"), where);
    }
  }
}
