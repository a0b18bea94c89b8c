package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.goscope.e2e.chart.ChartPod;
import io.goscope.e2e.chart.DistributionImage;
import io.goscope.e2e.chart.DockerfileBuild;
import io.goscope.e2e.chart.ExternalPlugin;
import io.goscope.e2e.chart.HelmChart;
import io.goscope.e2e.chart.Rendered;
import io.goscope.e2e.k8s.FakeCluster;
import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent as the chart installs it: the pod of the rendered DaemonSet run on this machine by {@link ChartPod}
 * (volumes, init containers, command, environment and capability set from the manifest; container paths mapped
 * into a work directory), from the image tree {@code dist/Dockerfile} builds. A plugin built outside the reactor
 * ({@link ExternalPlugin}) arrives through a plugin image or a PVC, the chart's init containers copy it into the
 * plugins directory, and the agent loads it; the rule from the chart's ConfigMap selects the Go server copied into
 * the binaries hostPath, and its spans come out both over OTLP and through the external plugin's exporter.
 */
class HelmInstalledAgentE2ETest {
  private static final String NODE = "node-chart-1";
  private static final String PLUGIN_IMAGE = "registry.example.com/example/goscope-plugins:1.0.0";
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int REQUESTS = 20;

  static DockerfileBuild.Image agentImage;
  static Path pluginJar;

  @BeforeAll
  static void buildImagesAndPlugin() throws Exception {
    BpfAssumptions.assumeBpf();
    BpfAssumptions.assumeCommand("setpriv", "--version");
    agentImage = DistributionImage.agent();
    pluginJar = ExternalPlugin.build(agentImage.resolve("/opt/goscope/lib"),
        DistributionImage.scratch("external-plugin"));
  }

  /** Least privilege (the default), the plugin from an image, copied by its init container. */
  @Test
  void leastPrivilegeAgentLoadsAPluginFromAnImageAndTracesByTheChartsRule() throws Exception {
    Path context = DistributionImage.scratch("plugin-image-context-e2e");
    Files.copy(pluginJar, context.resolve(pluginJar.getFileName()));
    DockerfileBuild.Image pluginImage = DockerfileBuild.build(
        DistributionImage.repositoryRoot().resolve("dist/plugin-image/Dockerfile"), context,
        DistributionImage.scratch("plugin-image-e2e"), Map.of());
    String values = "plugins: {images: [{name: example, image: \"" + PLUGIN_IMAGE + "\"}]}\n";
    run("pod-image", values, Map.of(PLUGIN_IMAGE, pluginImage), Map.of(), 0);
  }

  /** Privileged mode, the plugin from a PVC (under a sub-path), copied by the volume init container. */
  @Test
  void privilegedAgentLoadsAPluginFromAPersistentVolumeClaim() throws Exception {
    Path claim = DistributionImage.scratch("pvc-goscope-plugins");
    Files.createDirectories(claim.resolve("jars"));
    Files.copy(pluginJar, claim.resolve("jars").resolve(pluginJar.getFileName()));
    String values = """
        security: {privileged: true}
        plugins:
          volume: {persistentVolumeClaim: {claimName: goscope-plugins}}
          volumeSubPath: jars
        """;
    run("pod-pvc", values, Map.of(), Map.of("goscope-plugins", claim), 1);
  }

  private void run(String name, String pluginValues, Map<String, DockerfileBuild.Image> extraImages,
      Map<String, Path> claims, int variant) throws Exception {
    Path work = DistributionImage.scratch(name);
    try (OtlpReceiver receiver = OtlpReceiver.start(); FakeCluster cluster = FakeCluster.start(NODE)) {
      String service = "charted-demo-" + variant;
      Rendered rendered = HelmChart.ofRepository(work.resolve("values")).render(pluginValues, """
          rules:
            demo.yaml: |
              rules:
                - name: demo
                  match: {executable: "goscope-demo-server"}
                  options: {serviceName: %s}
          otlp: {endpoint: "%s", protocol: http/protobuf}
          exporters: {traces: "otlp,jsonl", metrics: none}
          extraEnv:
            - {name: JSONL_EXPORTER_FILE, value: /var/run/goscope-spans/spans.jsonl}
            - {name: OTEL_BSP_SCHEDULE_DELAY, value: "200"}
            - {name: GOSCOPE_POLL_INTERVAL, value: 500ms}
            - {name: OTEL_LOGS_EXPORTER, value: none}
          extraVolumes: [{name: spans, emptyDir: {}}]
          extraVolumeMounts: [{name: spans, mountPath: /var/run/goscope-spans}]
          """.formatted(service, receiver.endpoint()));

      Map<String, DockerfileBuild.Image> images = new java.util.HashMap<>(extraImages);
      images.put(rendered.agent().getImage(), agentImage);
      ChartPod pod = ChartPod.create(rendered, work, images, claims, Map.of(), NODE);
      pod.runInitContainers();
      List<String> jars;
      try (Stream<Path> s = Files.list(pod.volume("plugins"))) {
        jars = s.map(p -> p.getFileName().toString()).sorted().toList();
      }
      assertEquals(List.of("example-exporter-jsonl-1.0.0.jar", "goscope-exporter-console.jar",
          "goscope-exporter-otlp.jar", "goscope-exporter-prometheus.jar", "goscope-probe-databasesql.jar",
          "goscope-probe-grpc.jar", "goscope-probe-nethttp.jar", "goscope-probe-pgx.jar", "goscope-probe-redis.jar"),
          jars, "built-in and extra plugins, one dir");

      Container agentContainer = rendered.agent();
      List<String> command = pod.commandLine(agentContainer);
      assertEquals(variant == 0, command.get(0).equals("setpriv"), "least privilege runs with the chart's caps");
      Map<String, String> env = pod.environment(agentContainer,
          Map.of("KUBECONFIG", cluster.writeKubeconfig(work.resolve("kubeconfig")).toString()));
      assertEquals(NODE, env.get("NODE_NAME"));

      // The application writes its binary to the shared hostPath, as the chart's README practice says.
      Path binaries = pod.hostPath("/var/lib/apm-binaries");
      Path demo = Files.copy(agentImage.resolve("/opt/goscope/demo/goscope-demo-server"),
          binaries.resolve("goscope-demo-server"));

      try (AgentProcess agent = AgentProcess.startCommand(command, env)) {
        agent.awaitLine(l -> l.contains("plugin started id=" + ExternalPlugin.ID), TIMEOUT);
        agent.awaitLine(l -> l.contains("rules published dir=" + pod.volume("rules")), TIMEOUT);
        agent.awaitLine(l -> l.contains("agent started"), TIMEOUT);
        try (GoServer server = GoServer.start(demo, List.of())) {
          agent.awaitLine(l -> l.contains("process instrumented pid=" + server.launcherPid())
              && l.contains("rule=demo"), TIMEOUT);
          for (int i = 0; i < REQUESTS; i++) {
            assertEquals(200, server.get("/hello/chart-" + i));
          }
          List<ReceivedSpan> spans = receiver.awaitSpans(REQUESTS, TIMEOUT);
          for (ReceivedSpan s : spans) {
            assertEquals(service, s.resourceAttributes().get("service.name"), s.toString());
          }
          Path jsonl = pod.volume("spans").resolve("spans.jsonl");
          List<String> lines = awaitLines(jsonl, REQUESTS);
          for (String line : lines) {
            assertTrue(line.contains("\"service\":\"" + service + "\"") && line.contains("\"kind\":\"SERVER\""),
                line);
          }
        }
        assertEquals(0, agent.terminate(Duration.ofSeconds(
            rendered.podSpec().getTerminationGracePeriodSeconds())), "clean stop within the grace period");
      }
    }
  }

  private static List<String> awaitLines(Path file, int n) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    List<String> lines = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      if (Files.exists(file)) {
        lines = Files.readAllLines(file);
        if (lines.size() >= n) {
          return lines;
        }
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the external plugin's exporter wrote " + lines.size() + " of " + n + " spans to "
        + file);
  }
}
