package io.goscope.e2e.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chart as Helm renders it, no cluster needed: lint, the default values and the value sets platform teams use
 * (privileged, least privilege, extra plugins from an image and from a PVC, rules, header and TLS Secrets, self
 * monitoring), each document parsed into fabric8 objects and checked field by field; and values the schema
 * refuses, each with a message naming the key.
 */
class ChartRenderTest {
  /** Without SYS_ADMIN: enough on kernels that predate the 2025 uprobe revert (security.uprobesNeedSysAdmin=false). */
  private static final List<String> PRE_REVERT_CAPS =
      List.of("BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "CHECKPOINT_RESTORE");
  /** The default: current kernels need SYS_ADMIN to create a uprobe (HelmInstalledAgentE2ETest runs with it). */
  private static final List<String> LEAST_PRIVILEGE_CAPS =
      List.of("BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH", "CHECKPOINT_RESTORE", "SYS_ADMIN");

  @TempDir static Path work;
  static HelmChart chart;
  static Rendered defaults;

  @BeforeAll
  static void renderDefaults() {
    chart = HelmChart.ofRepository(work);
    defaults = chart.render();
  }

  @Test
  void lintPassesStrict() {
    LintResult lint = chart.lint();
    assertFalse(lint.isFailed(), () -> String.join("\n", lint.getMessages()));
    for (String m : lint.getMessages()) {
      assertFalse(m.startsWith("[ERROR]") || m.startsWith("[WARNING]"), m);
    }
  }

  @Test
  void defaultsRenderTheAgentAndItsAccessOnly() {
    assertEquals(List.of("ServiceAccount/goscope", "ConfigMap/goscope-rules", "ClusterRole/goscope",
        "ClusterRoleBinding/goscope", "DaemonSet/goscope"), defaults.kindsAndNames());
  }

  @Test
  void everyObjectCarriesTheRecommendedLabels() throws Exception {
    String appVersion = appVersion();
    Rendered everything = chart.render(FULL_FEATURES);
    for (HasMetadata o : everything.objects()) {
      Map<String, String> labels = o.getMetadata().getLabels();
      String what = o.getKind() + "/" + o.getMetadata().getName();
      assertEquals("goscope", labels.get("app.kubernetes.io/name"), what);
      assertEquals(HelmChart.RELEASE, labels.get("app.kubernetes.io/instance"), what);
      assertEquals(appVersion, labels.get("app.kubernetes.io/version"), what);
      assertEquals("Helm", labels.get("app.kubernetes.io/managed-by"), what);
      assertEquals("agent", labels.get("app.kubernetes.io/component"), what);
      assertEquals("goscope-" + chartVersion(), labels.get("helm.sh/chart"), what);
      boolean clusterScoped = o instanceof ClusterRole || o instanceof ClusterRoleBinding;
      assertEquals(clusterScoped ? null : HelmChart.NAMESPACE, o.getMetadata().getNamespace(), what);
    }
  }

  @Test
  void daemonSetRunsOnEveryNodeWithHostPidAndPinnedImage() throws Exception {
    DaemonSet ds = defaults.daemonSet();
    var pod = defaults.podSpec();
    Map<String, String> selector = ds.getSpec().getSelector().getMatchLabels();
    assertEquals(Map.of("app.kubernetes.io/name", "goscope", "app.kubernetes.io/instance", "goscope"), selector);
    assertTrue(ds.getSpec().getTemplate().getMetadata().getLabels().entrySet().containsAll(selector.entrySet()));
    assertTrue(pod.getHostPID());
    assertEquals("system-node-critical", pod.getPriorityClassName());
    assertEquals(30L, pod.getTerminationGracePeriodSeconds());
    assertEquals(1, pod.getTolerations().size());
    assertEquals("Exists", pod.getTolerations().get(0).getOperator());
    assertNull(pod.getTolerations().get(0).getKey(), "tolerates every taint");
    assertEquals(Map.of("kubernetes.io/os", "linux"), pod.getNodeSelector());
    assertEquals("RollingUpdate", ds.getSpec().getUpdateStrategy().getType());
    assertEquals(1, ds.getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getIntVal());
    assertEquals("goscope", pod.getServiceAccountName());
    assertNull(pod.getInitContainers() == null || pod.getInitContainers().isEmpty() ? null : "init containers",
        "no init container without extra plugins");

    Container agent = defaults.agent();
    assertEquals("goscope/agent:" + appVersion(), agent.getImage());
    assertEquals("IfNotPresent", agent.getImagePullPolicy());
    assertEquals(List.of("agent"), agent.getArgs());
    assertEquals(List.of(), agent.getCommand(), "the image's entrypoint runs");
    assertNotNull(agent.getResources().getLimits().get("memory"), "a memory limit is set");
    assertNotNull(agent.getResources().getRequests().get("cpu"));
    assertNotNull(ds.getSpec().getTemplate().getMetadata().getAnnotations().get("checksum/config"));
  }

  @Test
  void probesHitTheHealthEndpointsOnTheAdminPort() {
    Container agent = defaults.agent();
    assertEquals(6060, agent.getPorts().get(0).getContainerPort());
    assertEquals("admin", agent.getPorts().get(0).getName());
    assertEquals(":6060", defaults.agentEnvValue("GOSCOPE_ADMIN_ADDR"));
    assertProbe(agent.getLivenessProbe(), "/healthz");
    assertProbe(agent.getReadinessProbe(), "/readyz");
    assertProbe(agent.getStartupProbe(), "/healthz");
    Probe startup = agent.getStartupProbe();
    assertTrue(startup.getPeriodSeconds() * startup.getFailureThreshold() >= 60,
        "start-up allows at least a minute for the JVM, plugins and BPF");

    Rendered moved = chart.render("admin: {port: 7070}\n");
    assertEquals(7070, moved.agent().getPorts().get(0).getContainerPort());
    assertEquals(":7070", moved.agentEnvValue("GOSCOPE_ADMIN_ADDR"));
    assertProbe(moved.agent().getLivenessProbe(), "/healthz");
  }

  private static void assertProbe(Probe probe, String path) {
    assertNotNull(probe);
    assertEquals(path, probe.getHttpGet().getPath());
    assertEquals("admin", probe.getHttpGet().getPort().getStrVal());
  }

  @Test
  void hostMountsAreTheOnesTheAgentReads() {
    assertHostPath(defaults, "/host/proc", "/proc", true);
    assertHostPath(defaults, "/sys/fs/bpf", "/sys/fs/bpf", false);
    assertHostPath(defaults, "/sys/kernel/tracing", "/sys/kernel/tracing", true);
    assertHostPath(defaults, "/sys/kernel/debug", "/sys/kernel/debug", true);
    assertHostPath(defaults, "/sys/kernel/security", "/sys/kernel/security", true);
    assertHostPath(defaults, "/var/lib/apm-binaries", "/var/lib/apm-binaries", true);
    assertEquals("DirectoryOrCreate",
        defaults.agentVolumeAt("/var/lib/apm-binaries").getHostPath().getType(), "created 0755 by the kubelet");
    assertEquals("goscope-rules", defaults.agentVolumeAt("/etc/goscope/rules").getConfigMap().getName());
    assertTrue(defaults.agentMount("/etc/goscope/rules").getReadOnly());
    assertNotNull(defaults.agentVolumeAt("/tmp").getEmptyDir(), "a writable /tmp beside the read-only root");

    Map<String, String> env = plainEnv(defaults);
    assertEquals("/host/proc", env.get("HOST_PROC"));
    assertEquals("/etc/goscope/rules", env.get("GOSCOPE_RULES_DIR"));
    assertEquals("/var/lib/apm-binaries", env.get("GOSCOPE_BINARIES_DIR"));
    assertEquals("/opt/goscope/plugins", env.get("GOSCOPE_PLUGINS_DIR"));
    assertEquals("spec.nodeName", defaults.agentEnv().get("NODE_NAME").getValueFrom().getFieldRef().getFieldPath());
    assertEquals("25s", env.get("GOSCOPE_SHUTDOWN_TIMEOUT"), "the grace period less 5 s");

    Rendered moved = chart.render("binaries: {hostPath: /data/apm}\n");
    assertHostPath(moved, "/data/apm", "/data/apm", true);
    assertEquals("/data/apm", moved.agentEnvValue("GOSCOPE_BINARIES_DIR"));
  }

  private static void assertHostPath(Rendered r, String mountPath, String hostPath, boolean readOnly) {
    VolumeMount mount = r.agentMount(mountPath);
    Volume volume = r.volume(mount.getName());
    assertNotNull(volume.getHostPath(), mountPath + " is a hostPath");
    assertEquals(hostPath, volume.getHostPath().getPath());
    assertEquals(readOnly, Boolean.TRUE.equals(mount.getReadOnly()), mountPath + " read-only");
  }

  @Test
  void leastPrivilegeIsTheDefault() {
    SecurityContext sc = defaults.agent().getSecurityContext();
    assertFalse(sc.getPrivileged());
    assertFalse(sc.getAllowPrivilegeEscalation());
    assertTrue(sc.getReadOnlyRootFilesystem());
    assertEquals(0L, sc.getRunAsUser(), "capabilities are granted to uid 0 only");
    assertEquals(List.of("ALL"), sc.getCapabilities().getDrop());
    assertEquals(LEAST_PRIVILEGE_CAPS, sc.getCapabilities().getAdd());
    assertEquals("RuntimeDefault", sc.getSeccompProfile().getType());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "security: {memlockRlimit: true}|SYS_RESOURCE",
      "security: {extraCapabilities: [NET_ADMIN]}|NET_ADMIN"})
  void optionalCapabilitiesComeOnlyWithTheirValue(String values, String capability) {
    List<String> added = chart.render(values).agent().getSecurityContext().getCapabilities().getAdd();
    assertTrue(added.containsAll(LEAST_PRIVILEGE_CAPS));
    assertEquals(LEAST_PRIVILEGE_CAPS.size() + 1, added.size(), added::toString);
    assertEquals(capability, added.get(added.size() - 1));
    assertFalse(LEAST_PRIVILEGE_CAPS.contains(capability), "not in the default set");
  }

  @Test
  void sysAdminOnlyForUprobesOnCurrentKernelsOrForPropagation() {
    assertEquals(PRE_REVERT_CAPS, chart.render("security: {uprobesNeedSysAdmin: false}\n").agent()
        .getSecurityContext().getCapabilities().getAdd());
    assertEquals(LEAST_PRIVILEGE_CAPS, chart.render("security: {uprobesNeedSysAdmin: false}\n"
        + "propagation: {enabled: true}\n").agent().getSecurityContext().getCapabilities().getAdd());
    assertEquals(LEAST_PRIVILEGE_CAPS, chart.render("propagation: {enabled: true}\n").agent()
        .getSecurityContext().getCapabilities().getAdd(), "SYS_ADMIN once, not twice");
  }

  @Test
  void localhostSeccompProfile() {
    SecurityContext sc = chart.render(
        "security: {seccompProfile: {type: Localhost, localhostProfile: goscope.json}, "
            + "appArmorProfile: {type: Unconfined}}\n").agent().getSecurityContext();
    assertEquals("Localhost", sc.getSeccompProfile().getType());
    assertEquals("goscope.json", sc.getSeccompProfile().getLocalhostProfile());
    assertEquals("Unconfined", sc.getAppArmorProfile().getType());
  }

  @Test
  void privilegedModeIsOneValue() {
    Rendered r = chart.render("security: {privileged: true}\n");
    SecurityContext sc = r.agent().getSecurityContext();
    assertTrue(sc.getPrivileged());
    assertNull(sc.getCapabilities(), "privileged has every capability");
    assertNull(sc.getSeccompProfile());
    assertFalse(r.agentMount("/sys/kernel/tracing").getReadOnly(), "may mount tracefs itself");
    assertTrue(r.agentMount("/host/proc").getReadOnly());
  }

  @Test
  void rbacIsReadOnlyOnPodsOwnersAndNodes() {
    ClusterRole role = defaults.one(ClusterRole.class);
    Set<String> granted = new TreeSet<>();
    for (PolicyRule rule : role.getRules()) {
      assertEquals(List.of("get", "list", "watch"), rule.getVerbs());
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          granted.add(group + "/" + resource);
        }
      }
    }
    assertEquals(Set.of("/pods", "/nodes", "apps/replicasets", "batch/jobs"), granted);
    ClusterRoleBinding binding = defaults.one(ClusterRoleBinding.class);
    assertEquals(role.getMetadata().getName(), binding.getRoleRef().getName());
    assertEquals(1, binding.getSubjects().size());
    assertEquals(defaults.one(ServiceAccount.class).getMetadata().getName(), binding.getSubjects().get(0).getName());
    assertEquals(HelmChart.NAMESPACE, binding.getSubjects().get(0).getNamespace());

    Rendered none = chart.render("rbac: {create: false}\nserviceAccount: {create: false, name: platform-agents}\n");
    assertTrue(none.all(ClusterRole.class).isEmpty());
    assertTrue(none.all(ServiceAccount.class).isEmpty());
    assertEquals("platform-agents", none.podSpec().getServiceAccountName());
  }

  @Test
  void imageTagDigestPullSecrets() throws Exception {
    String digest = "sha256:" + "ab".repeat(32);
    Rendered r = chart.render("image: {registry: registry.example.com, repository: platform/goscope, tag: 1.2.3, "
        + "digest: \"" + digest + "\", pullPolicy: Always, pullSecrets: [{name: regcred}]}\n");
    assertEquals("registry.example.com/platform/goscope:1.2.3@" + digest, r.agent().getImage());
    assertEquals("Always", r.agent().getImagePullPolicy());
    assertEquals("regcred", r.podSpec().getImagePullSecrets().get(0).getName());

    IllegalStateException latest = assertThrows(IllegalStateException.class,
        () -> chart.render("image: {tag: latest}\n"));
    assertTrue(latest.getMessage().contains("image.tag must not be \"latest\""), latest.getMessage());
  }

  @Test
  void selectionRulesAndOffsetBundlesAreConfigMapsThatRollThePods() {
    String rules = """
        rules:
          checkout.yaml: |
            rules:
              - name: checkout
                match: {namespace: shop}
                options: {serviceName: checkout}
          payments.yaml: |
            rules:
              - name: payments
                match: {executable: payments}
        offsets:
          go127.yaml: |
            fields: []
        goApps: [checkout, payments-api]
        """;
    Rendered r = chart.render(rules);
    ConfigMap cm = r.configMap("goscope-rules").orElseThrow();
    assertEquals(Set.of("checkout.yaml", "payments.yaml"), cm.getData().keySet());
    assertTrue(cm.getData().get("checkout.yaml").contains("serviceName: checkout"));
    assertEquals("fields: []\n", r.configMap("goscope-offsets").orElseThrow().getData().get("go127.yaml"));
    assertEquals("/etc/goscope/offsets", r.agentEnvValue("GOSCOPE_OFFSETS_DIR"));
    assertEquals("goscope-offsets", r.agentVolumeAt("/etc/goscope/offsets").getConfigMap().getName());
    assertEquals("checkout,payments-api", r.agentEnvValue("GO_APPS"));
    assertNull(defaults.agentEnvValue("GOSCOPE_OFFSETS_DIR"));
    assertNull(defaults.agentEnvValue("GO_APPS"));

    String before = checksum(r);
    assertEquals(before, checksum(chart.render(rules)), "stable for the same rules");
    assertNotEquals(before, checksum(chart.render(rules.replace("serviceName: checkout", "serviceName: co"))));
    assertNotEquals(before, checksum(chart.render(rules.replace("fields: []", "fields: [] # v2"))));
    assertNull(checksum(chart.render(rules + "rollOnConfigChange: false\n")));
  }

  private static String checksum(Rendered r) {
    Map<String, String> annotations = r.daemonSet().getSpec().getTemplate().getMetadata().getAnnotations();
    return annotations == null ? null : annotations.get("checksum/config");
  }

  @Test
  void pluginsEnabledAndDisabledByIdWithoutAFixedList() {
    Rendered r = chart.render("plugins: {enabled: [nethttp, exporter-otlp, probe-grpc], disabled: [exporter-console]}\n");
    assertEquals("nethttp,exporter-otlp,probe-grpc", r.agentEnvValue("GOSCOPE_PLUGINS_ENABLED"));
    assertEquals("exporter-console", r.agentEnvValue("GOSCOPE_PLUGINS_DISABLED"));
    assertNull(defaults.agentEnvValue("GOSCOPE_PLUGINS_ENABLED"), "every plugin found runs by default");
    assertNull(defaults.agentEnvValue("GOSCOPE_PLUGINS_DISABLED"));
  }

  @Test
  void extraPluginsFromAnImageAreCopiedIntoThePluginsDirectory() {
    Rendered r = chart.render("""
        plugins:
          images:
            - {name: acme, image: "registry.example.com/acme/goscope-plugins:1.0.0"}
            - {name: grpc, image: "registry.example.com/goscope/probe-grpc:0.2.0", path: /opt/jars/, pullPolicy: Always}
        """);
    List<Container> init = r.podSpec().getInitContainers();
    assertEquals(List.of("plugins-builtin", "plugins-acme", "plugins-grpc"),
        init.stream().map(Container::getName).toList());
    assertEquals(List.of("cp", "-R", "/opt/goscope/plugins/.", "/var/lib/goscope/plugins/"), init.get(0).getCommand());
    assertEquals(r.agent().getImage(), init.get(0).getImage(), "built-in plugins come from the agent image");
    assertEquals(List.of("cp", "-R", "/plugins/.", "/var/lib/goscope/plugins/"), init.get(1).getCommand());
    assertEquals("registry.example.com/acme/goscope-plugins:1.0.0", init.get(1).getImage());
    assertEquals(List.of("cp", "-R", "/opt/jars/.", "/var/lib/goscope/plugins/"), init.get(2).getCommand());
    assertEquals("Always", init.get(2).getImagePullPolicy());
    for (Container c : init) {
      assertEquals("/var/lib/goscope/plugins", c.getVolumeMounts().get(0).getMountPath(), c.getName());
      assertEquals("plugins", c.getVolumeMounts().get(0).getName());
      SecurityContext sc = c.getSecurityContext();
      assertTrue(sc.getRunAsNonRoot(), c.getName() + " copies files without privilege");
      assertEquals(List.of("ALL"), sc.getCapabilities().getDrop());
      assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty());
      assertTrue(sc.getReadOnlyRootFilesystem());
    }
    assertNotNull(r.volume("plugins").getEmptyDir());
    assertEquals("/var/lib/goscope/plugins", r.agentEnvValue("GOSCOPE_PLUGINS_DIR"));
    assertTrue(r.agentMount("/var/lib/goscope/plugins").getReadOnly());
  }

  @Test
  void extraPluginsFromAPersistentVolumeClaim() {
    Rendered r = chart.render("""
        plugins:
          volume: {persistentVolumeClaim: {claimName: goscope-plugins, readOnly: true}}
          volumeSubPath: jars
        """);
    List<Container> init = r.podSpec().getInitContainers();
    assertEquals(List.of("plugins-builtin", "plugins-volume"), init.stream().map(Container::getName).toList());
    Container copy = init.get(1);
    assertEquals(List.of("cp", "-R", "/var/lib/goscope/plugins-volume/.", "/var/lib/goscope/plugins/"),
        copy.getCommand());
    VolumeMount source = copy.getVolumeMounts().stream().filter(m -> m.getName().equals("plugins-volume"))
        .findFirst().orElseThrow();
    assertEquals("jars", source.getSubPath());
    assertTrue(source.getReadOnly());
    assertEquals("goscope-plugins", r.volume("plugins-volume").getPersistentVolumeClaim().getClaimName());
    assertEquals("/var/lib/goscope/plugins", r.agentEnvValue("GOSCOPE_PLUGINS_DIR"));
    assertTrue(r.agent().getVolumeMounts().stream().noneMatch(m -> m.getName().equals("plugins-volume")),
        "the agent reads the copy, not the volume");
  }

  @Test
  void otlpHeadersAndTlsComeFromSecrets() {
    Rendered r = chart.render("""
        otlp:
          endpoint: https://otlp.example.com:4317
          protocol: grpc
          compression: gzip
          headers: {secretName: otlp-auth, secretKey: headers}
          tls: {secretName: otlp-tls, caKey: ca.crt, certKey: tls.crt, keyKey: tls.key}
        resourceAttributes: {k8s.cluster.name: prod-eu, deployment.environment: production}
        exporters: {traces: "otlp,console", metrics: prometheus}
        """);
    Map<String, String> env = plainEnv(r);
    assertEquals("https://otlp.example.com:4317", env.get("OTEL_EXPORTER_OTLP_ENDPOINT"));
    assertEquals("grpc", env.get("OTEL_EXPORTER_OTLP_PROTOCOL"));
    assertEquals("gzip", env.get("OTEL_EXPORTER_OTLP_COMPRESSION"));
    assertEquals("otlp,console", env.get("OTEL_TRACES_EXPORTER"));
    assertEquals("prometheus", env.get("OTEL_METRICS_EXPORTER"));
    assertEquals("deployment.environment=production,k8s.cluster.name=prod-eu", env.get("OTEL_RESOURCE_ATTRIBUTES"));
    EnvVar headers = r.agentEnv().get("OTEL_EXPORTER_OTLP_HEADERS");
    assertNull(headers.getValue(), "never inline");
    assertEquals("otlp-auth", headers.getValueFrom().getSecretKeyRef().getName());
    assertEquals("headers", headers.getValueFrom().getSecretKeyRef().getKey());

    Volume tls = r.agentVolumeAt("/etc/goscope/otlp-tls");
    assertEquals("otlp-tls", tls.getSecret().getSecretName());
    assertTrue(r.agentMount("/etc/goscope/otlp-tls").getReadOnly());
    assertEquals("/etc/goscope/otlp-tls/ca.crt", env.get("OTEL_EXPORTER_OTLP_CERTIFICATE"));
    assertEquals("/etc/goscope/otlp-tls/tls.crt", env.get("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"));
    assertEquals("/etc/goscope/otlp-tls/tls.key", env.get("OTEL_EXPORTER_OTLP_CLIENT_KEY"));

    Map<String, String> plain = plainEnv(defaults);
    for (String unset : List.of("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_RESOURCE_ATTRIBUTES")) {
      assertFalse(defaults.agentEnv().containsKey(unset), unset + " unset by default");
    }
    assertEquals("http/protobuf", plain.get("OTEL_EXPORTER_OTLP_PROTOCOL"));
  }

  @Test
  void serviceMonitorScrapesEveryAgentPod() {
    Rendered r = chart.render("selfMonitoring: {serviceMonitor: {enabled: true, interval: 15s, "
        + "labels: {release: kube-prometheus-stack}}}\n");
    Service svc = r.one(Service.class);
    assertEquals("None", svc.getSpec().getClusterIP(), "headless: one target per pod");
    assertEquals(r.daemonSet().getSpec().getSelector().getMatchLabels(), svc.getSpec().getSelector());
    assertEquals("admin", svc.getSpec().getPorts().get(0).getTargetPort().getStrVal());
    GenericKubernetesResource sm = r.custom("ServiceMonitor").orElseThrow();
    assertEquals("monitoring.coreos.com/v1", sm.getApiVersion());
    assertEquals("kube-prometheus-stack", sm.getMetadata().getLabels().get("release"));
    Map<String, Object> spec = map(sm.getAdditionalProperties().get("spec"));
    Map<String, Object> matchLabels = map(map(spec.get("selector")).get("matchLabels"));
    assertTrue(svc.getMetadata().getLabels().entrySet().containsAll(matchLabels.entrySet()),
        "the ServiceMonitor selects the Service");
    Map<String, Object> endpoint = map(((List<?>) spec.get("endpoints")).get(0));
    assertEquals("admin", endpoint.get("port"));
    assertEquals("/metrics", endpoint.get("path"));
    assertEquals("15s", endpoint.get("interval"));
    assertTrue(r.custom("PrometheusRule").isEmpty());
  }

  @Test
  void prometheusRuleAlertsOnTheAgentsHealth() {
    Rendered r = chart.render("selfMonitoring: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true, "
        + "labels: {release: kps}, alerts: {noProcessInstrumented: {for: 45m}, restarts: {enabled: false}}}}\n");
    GenericKubernetesResource rule = r.custom("PrometheusRule").orElseThrow();
    assertEquals("kps", rule.getMetadata().getLabels().get("release"));
    List<?> groups = (List<?>) map(rule.getAdditionalProperties().get("spec")).get("groups");
    List<Map<String, Object>> rules = ((List<?>) map(groups.get(0)).get("rules")).stream().map(ChartRenderTest::map)
        .toList();
    Map<String, Map<String, Object>> byName = rules.stream()
        .collect(Collectors.toMap(a -> (String) a.get("alert"), a -> a));
    assertEquals(Set.of("GoscopeAgentPodsNotReady", "GoscopeTelemetryLoss", "GoscopeExportFailing",
        "GoscopeNoProcessInstrumented"), byName.keySet());
    String job = "job=\"goscope-metrics\", namespace=\"observability\"";
    String lossRegex = "goscope_(.+_dropped|.+_lost|ringbuf_reserve_failures|calls_unmatched)_total";
    assertTrue(expr(byName, "GoscopeTelemetryLoss").contains("{__name__=~\"" + lossRegex + "\", " + job + "}"),
        expr(byName, "GoscopeTelemetryLoss"));
    assertTrue(expr(byName, "GoscopeExportFailing").contains("goscope_spans_export_failed_total{" + job + "}"));
    // The alerts watch counters the agent really serves: every loss counter it has, and nothing else.
    java.util.regex.Pattern loss = java.util.regex.Pattern.compile(lossRegex);
    Set<String> served = agentMetricNames();
    Set<String> lossCounters = served.stream().filter(n -> loss.matcher(n + "_total").matches())
        .collect(Collectors.toSet());
    assertEquals(Set.of("goscope_ringbuf_reserve_failures", "goscope_calls_unmatched", "goscope_records_lost",
        "goscope_spans_dropped", "goscope_measurements_dropped"), lossCounters);
    assertTrue(served.contains("goscope_spans_export_failed"), served.toString());
    assertTrue(served.contains("goscope_processes_instrumented"), served.toString());
    assertTrue(expr(byName, "GoscopeNoProcessInstrumented").contains("goscope_processes_instrumented{" + job + "}"));
    assertEquals("45m", byName.get("GoscopeNoProcessInstrumented").get("for"));
    assertTrue(expr(byName, "GoscopeAgentPodsNotReady").contains("daemonset=\"goscope\""));
    for (Map<String, Object> alert : rules) {
      assertNotNull(map(alert.get("labels")).get("severity"), alert.toString());
      assertNotNull(map(alert.get("annotations")).get("description"), alert.toString());
    }
  }

  /** The names of the agent's self-metrics (the constants of SelfMetrics). */
  private static Set<String> agentMetricNames() {
    Set<String> names = new java.util.TreeSet<>();
    for (java.lang.reflect.Field f : io.goscope.platform.admin.SelfMetrics.class.getFields()) {
      if (f.getType() == String.class && java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
        try {
          String v = (String) f.get(null);
          if (v.startsWith("goscope_")) {
            names.add(v);
          }
        } catch (IllegalAccessException e) {
          throw new AssertionError(e);
        }
      }
    }
    return names;
  }

  private static String expr(Map<String, Map<String, Object>> alerts, String name) {
    return (String) alerts.get(name).get("expr");
  }

  @Test
  void schedulingAndPodMetadataValues() {
    Rendered r = chart.render("""
        nodeSelector: {goscope.io/trace: "true"}
        tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]
        affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]}]}}}
        podAnnotations: {team: platform}
        podLabels: {cost-center: obs}
        priorityClassName: ""
        updateStrategy: {maxUnavailable: 20%}
        terminationGracePeriodSeconds: 60
        resources: {requests: {cpu: 200m, memory: 300Mi}, limits: {memory: 600Mi}}
        """);
    var pod = r.podSpec();
    // Helm merges maps with the defaults: the OS selector stays unless set to null.
    assertEquals(Map.of("goscope.io/trace", "true", "kubernetes.io/os", "linux"), pod.getNodeSelector());
    assertEquals("dedicated", pod.getTolerations().get(0).getKey());
    assertNotNull(pod.getAffinity().getNodeAffinity());
    assertEquals("platform", r.daemonSet().getSpec().getTemplate().getMetadata().getAnnotations().get("team"));
    assertEquals("obs", r.daemonSet().getSpec().getTemplate().getMetadata().getLabels().get("cost-center"));
    assertNull(pod.getPriorityClassName());
    assertEquals("20%", r.daemonSet().getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable()
        .getStrVal());
    assertEquals(60L, pod.getTerminationGracePeriodSeconds());
    assertEquals("55s", r.agentEnvValue("GOSCOPE_SHUTDOWN_TIMEOUT"));
    assertEquals("600Mi", r.agent().getResources().getLimits().get("memory").toString());
  }

  @Test
  void priorityClassQuotaForClustersThatLimitCriticalPriorities() {
    Rendered r = chart.render("priorityClassQuota: {create: true}\n");
    var quota = r.one(io.fabric8.kubernetes.api.model.ResourceQuota.class);
    assertEquals(List.of("system-node-critical"),
        quota.getSpec().getScopeSelector().getMatchExpressions().get(0).getValues());
  }

  @Test
  void notesTellHowToCheckTheAgent() {
    String notes = chart.notes();
    assertTrue(notes.contains("kubectl -n observability rollout status daemonset/goscope"), notes);
    assertTrue(notes.contains("kubectl -n observability logs daemonset/goscope -c agent"), notes);
    assertTrue(notes.contains("-- goscope doctor"), notes);
    assertTrue(notes.contains("-- goscope inspect"), notes);
    assertTrue(notes.contains("/metrics"), notes);
    assertTrue(notes.contains("nothing is selected for tracing yet"), notes);
    assertTrue(notes.contains("capabilities BPF, PERFMON, SYS_PTRACE, DAC_READ_SEARCH, CHECKPOINT_RESTORE, SYS_ADMIN"),
        notes);
    String configured = chart.notes("goApps: [checkout]\nsecurity: {privileged: true}\n");
    assertFalse(configured.contains("nothing is selected"), configured);
    assertTrue(configured.contains("privileged mode"), configured);
  }

  /** Values the schema refuses, and what Helm says: the key's path and the reason. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "unknown top-level key     | otlpEndpoint: http://x:4318                | Additional property otlpEndpoint is not allowed",
      "misspelt nested key       | otlp: {protocl: grpc}                      | otlp: Additional property protocl is not allowed",
      "port as a string          | admin: {port: \"6060\"}                    | admin.port: Invalid type. Expected: integer, given: string",
      "port out of range         | admin: {port: 70000}                       | admin.port: Must be less than or equal to 65535",
      "unknown protocol          | otlp: {protocol: thrift}                   | otlp.protocol: otlp.protocol must be one of the following",
      "endpoint without scheme   | otlp: {endpoint: collector:4318}           | otlp.endpoint: Does not match pattern",
      "privileged as a string    | security: {privileged: \"yes\"}            | security.privileged: Invalid type. Expected: boolean, given: string",
      "capability set as a map   | security: {extraCapabilities: {a: b}}      | security.extraCapabilities: Invalid type. Expected: array, given: object",
      "goApps as a string        | goApps: checkout                           | goApps: Invalid type. Expected: array, given: string",
      "rule file not yaml        | rules: {checkout.txt: 'rules: []'}         | rules: Property name of \"checkout.txt\" does not match",
      "plugin image without name | plugins: {images: [{image: a/b:1}]}        | plugins.images.0: name is required",
      "plugin id with a comma    | plugins: {enabled: ['a,b']}                | plugins.enabled.0: Does not match pattern",
      "bad digest                | image: {digest: latest}                    | image.digest: Does not match pattern",
      "unknown seccomp type      | security: {seccompProfile: {type: Strict}} | security.seccompProfile.type: security.seccompProfile.type must be one of the following",
      "maxUnavailable zero       | updateStrategy: {maxUnavailable: 0}        | updateStrategy.maxUnavailable: Must validate at least one schema"})
  void schemaRefusesWithTheKeyAndTheReason(String what, String values, String message) {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> chart.render(values + "\n"));
    assertTrue(e.getMessage().contains("values don't meet the specifications of the schema"), e.getMessage());
    assertTrue(e.getMessage().contains(message), () -> what + ": expected '" + message + "' in:\n" + e.getMessage());
  }

  /** A value set with every optional part on: used to check that all of them render valid, labelled objects. */
  static final String FULL_FEATURES = """
      image: {registry: registry.example.com, pullSecrets: [{name: regcred}]}
      goApps: [checkout]
      rules: {checkout.yaml: "rules: [{name: c, match: {executable: checkout}}]"}
      offsets: {extra.yaml: "fields: []"}
      plugins:
        images: [{name: acme, image: "registry.example.com/acme/plugins:1.0"}]
        volume: {persistentVolumeClaim: {claimName: goscope-plugins}}
      otlp:
        endpoint: https://otlp.example.com:4317
        protocol: grpc
        headers: {secretName: otlp-auth}
        tls: {secretName: otlp-tls, certKey: tls.crt, keyKey: tls.key}
      propagation: {enabled: true}
      priorityClassQuota: {create: true}
      selfMonitoring: {serviceMonitor: {enabled: true}, prometheusRule: {enabled: true}}
      """;

  private static Map<String, String> plainEnv(Rendered r) {
    Map<String, String> env = new java.util.LinkedHashMap<>();
    r.agentEnv().forEach((k, v) -> {
      if (v.getValue() != null) {
        env.put(k, v.getValue());
      }
    });
    return env;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  private static String appVersion() throws Exception {
    return chartField("appVersion");
  }

  private static String chartVersion() throws Exception {
    return chartField("version");
  }

  private static String chartField(String key) throws Exception {
    for (String line : Files.readAllLines(chart.dir().resolve("Chart.yaml"))) {
      if (line.startsWith(key + ":")) {
        return line.substring(key.length() + 1).trim().replace("\"", "");
      }
    }
    throw new AssertionError("no " + key + " in Chart.yaml");
  }
}
