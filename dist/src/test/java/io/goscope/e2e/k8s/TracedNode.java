package io.goscope.e2e.k8s;

import io.goscope.e2e.AgentProcess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.fabric8.kubernetes.api.model.Pod;
import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import io.goscope.testing.PodCgroup.QosClass;
import io.goscope.testing.PodSandbox;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * One node as the Kubernetes end-to-end tests see it: a fake API server, an OTLP receiver, a rules directory, the
 * agent from the distribution ({@code bin/goscope agent}) configured for all three, and pods stood up as
 * {@link PodSandbox}es running the demo server from one shared image layer.
 */
final class TracedNode implements AutoCloseable {
  static final String NODE = "node-e2e-1";
  /** The demo server's file name in the image; the same in every pod, as one image on a node is. */
  static final String BINARY = "demo-server";
  static final String IMAGE = "registry.example/shop/demo-server:1.4.2";
  static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(30);

  private final Path work;
  private final OtlpReceiver receiver;
  private final FakeCluster cluster;
  private final Path rulesDir;
  private final Path image;
  private final List<PodSandbox> sandboxes = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  private AgentProcess agent;

  /** A pod in the API and its sandbox on the node. */
  record RunningPod(Pod pod, PodSandbox sandbox) {
    String name() {
      return pod.getMetadata().getName();
    }

    String uid() {
      return pod.getMetadata().getUid();
    }

    long pid() {
      return sandbox.hostPid();
    }
  }

  private TracedNode(Path work, OtlpReceiver receiver, FakeCluster cluster, Path rulesDir, Path image) {
    this.work = work;
    this.receiver = receiver;
    this.cluster = cluster;
    this.rulesDir = rulesDir;
    this.image = image;
  }

  /** Skips (fails under CI=true) unless BPF and pod sandboxes work here. */
  static void assumeNode() {
    BpfAssumptions.assumeBpf();
    PodSandbox.assumeSupported();
    if (!GoBuilder.goAvailable()) {
      BpfAssumptions.skipOrFail("go toolchain unavailable");
    }
  }

  /** The demo server, static (CGO_ENABLED=0), built once per work directory. */
  static Path demoBinary(Path work) {
    Path src = Path.of(System.getProperty("goscope.root", "..")).resolve("dist/src/main/go/demo");
    return GoBuilder.build(src, work.resolve("build").resolve(BINARY), List.of(), Map.of("CGO_ENABLED", "0"));
  }

  /** Starts the receiver and API server and writes {@code rules} (may be null) into the rules directory. */
  static TracedNode create(Path work, String rulesFile, String rules) throws IOException {
    Path image = PodSandbox.imageLayer(demoBinary(work), work.resolve("image"));
    OtlpReceiver receiver = OtlpReceiver.start();
    FakeCluster cluster = FakeCluster.start(NODE);
    Path rulesDir = Files.createDirectories(work.resolve("rules"));
    TracedNode node = new TracedNode(work, receiver, cluster, rulesDir, image);
    if (rules != null) {
      node.writeRules(rulesFile, rules);
    }
    return node;
  }

  /** Starts the agent and waits until it runs with Kubernetes metadata. */
  AgentProcess startAgent(Map<String, String> extraEnv) throws IOException, InterruptedException {
    Map<String, String> env = new HashMap<>();
    env.put("NODE_NAME", NODE);
    env.put("KUBECONFIG", cluster.writeKubeconfig(work.resolve("kubeconfig")).toString());
    env.put("GOSCOPE_RULES_DIR", rulesDir.toString());
    env.put("GOSCOPE_POLL_INTERVAL", "500ms");
    env.put("GOSCOPE_RECONCILE_INTERVAL", "5s");
    env.put("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint());
    env.put("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    env.put("OTEL_TRACES_EXPORTER", "otlp");
    env.put("OTEL_METRICS_EXPORTER", "none");
    env.put("OTEL_LOGS_EXPORTER", "none");
    env.put("OTEL_BSP_SCHEDULE_DELAY", "200");
    env.putAll(extraEnv);
    agent = AgentProcess.start(env);
    agent.awaitLine(l -> l.contains("kubernetes metadata started"), ATTACH_TIMEOUT);
    agent.awaitLine(l -> l.contains("agent started"), ATTACH_TIMEOUT);
    return agent;
  }

  AgentProcess agent() {
    return agent;
  }

  OtlpReceiver receiver() {
    return receiver;
  }

  FakeCluster cluster() {
    return cluster;
  }

  Path image() {
    return image;
  }

  /** Replaces a rule file atomically (write, then rename), as a ConfigMap update does. */
  void writeRules(String name, String yaml) throws IOException {
    Path tmp = rulesDir.resolve("." + name + ".tmp");
    Files.writeString(tmp, yaml);
    Files.move(tmp, rulesDir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  void deleteRules(String name) throws IOException {
    Files.deleteIfExists(rulesDir.resolve(name));
  }

  Path rulesDir() {
    return rulesDir;
  }

  /** Creates a pod of {@code workload} in the API (kubelet would see it first), then stands it up on the node. */
  RunningPod runPod(FakeCluster.Workload workload, String podName, QosClass qos, Map<String, String> extraLabels,
      Map<String, String> annotations) throws InterruptedException {
    return runPod(workload, podName, qos, extraLabels, annotations, UnaryOperator.identity());
  }

  /**
   * As {@link #runPod(FakeCluster.Workload, String, QosClass, Map, Map)}, with the sandbox adjusted by
   * {@code sandboxSpec} before it starts (root entry, host paths, another command).
   */
  RunningPod runPod(FakeCluster.Workload workload, String podName, QosClass qos, Map<String, String> extraLabels,
      Map<String, String> annotations, UnaryOperator<PodSandbox.Builder> sandboxSpec) throws InterruptedException {
    String containerId = PodSandbox.randomContainerId();
    Pod pod = cluster.createPod(workload, podName, workload.deployment(), containerId, qos, extraLabels,
        annotations);
    PodSandbox sandbox = sandboxSpec.apply(PodSandbox.builder().podUid(pod.getMetadata().getUid())
        .containerId(containerId).qosClass(qos).podName(podName).imageLayer(image)
        .command("/app/" + BINARY, "-addr", PodSandbox.ADDRESS)).start();
    synchronized (sandboxes) {
      sandboxes.add(sandbox);
    }
    return new RunningPod(pod, sandbox);
  }

  /** Stops a pod: the container goes, then the API object. */
  void stopPod(RunningPod pod) {
    pod.sandbox().close();
    synchronized (sandboxes) {
      sandboxes.remove(pod.sandbox());
    }
    cluster.deletePod(pod.pod());
  }

  /** Waits for the agent's {@code process instrumented pid=<pid>} line, at or after output line {@code from}. */
  String awaitInstrumented(int from, long pid) throws InterruptedException {
    return agent.awaitLineAfter(from, l -> l.contains("process instrumented pid=" + pid + " "), ATTACH_TIMEOUT);
  }

  String awaitInstrumented(long pid) throws InterruptedException {
    return awaitInstrumented(0, pid);
  }

  /** A container restarted in place: its new pid and the agent's line instrumenting it. */
  record Restart(long pid, String instrumented) {}

  /**
   * Restarts the pod's container (a new pid, the pod stays) and waits until the agent has detached the old pid and
   * instrumented the new one.
   */
  Restart restartAndAwaitReattach(RunningPod pod) throws Exception {
    long before = pod.pid();
    int mark = agent.lineCount();
    pod.sandbox().restart();
    long after = pod.pid();
    assertNotEquals(before, after, "a restart gives a new pid");
    agent.awaitLineAfter(mark, l -> l.contains("process detached pid=" + before + " "), Duration.ofSeconds(20));
    return new Restart(after, awaitInstrumented(mark, after));
  }

  /** GET {@code path} on the pod's server; asserts 200. */
  void get(RunningPod pod, String path) throws IOException, InterruptedException {
    get(pod.sandbox().port(), path);
  }

  void get(int port, String path) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).GET().build();
    assertEquals(200, http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode(), "GET " + path);
  }

  /** Spans received so far whose {@code url.path} starts with {@code prefix}. */
  List<ReceivedSpan> spansWithPathPrefix(String prefix) {
    return receiver.spans().stream()
        .filter(s -> String.valueOf(s.attributes().get("url.path")).startsWith(prefix)).toList();
  }

  /** Waits until {@code n} spans with the path prefix arrived, then a little more to catch extras. */
  List<ReceivedSpan> awaitSpansWithPathPrefix(String prefix, int n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (spansWithPathPrefix(prefix).size() < n) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("expected " + n + " spans with path " + prefix + "* within " + timeout + ", got "
            + spansWithPathPrefix(prefix) + "; all spans: " + receiver.spans() + "\nagent output:\n" + String.join("\n", agent.output()));
      }
      Thread.sleep(50);
    }
    Thread.sleep(1000);
    return spansWithPathPrefix(prefix);
  }

  /** Sleeps long enough that spans of requests just made would have been exported (drain + batch + send). */
  static void quietPeriod() throws InterruptedException {
    Thread.sleep(2500);
  }

  @Override
  public void close() throws Exception {
    List<PodSandbox> left;
    synchronized (sandboxes) {
      left = List.copyOf(sandboxes);
      sandboxes.clear();
    }
    for (PodSandbox s : left) {
      s.close();
    }
    if (agent != null) {
      agent.close();
      // the whole agent log, including its shutdown counters, in the failsafe output file
      System.out.println("---- agent output ----\n" + String.join("\n", agent.output()) + "\n---- end ----");
    }
    cluster.close();
    receiver.close();
  }
}
