package io.goscope.platform.discovery.kubernetes;

import static io.goscope.platform.discovery.kubernetes.RecordingDiscoveryContext.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The source against fabric8's mock API server in CRUD mode.
 *
 * <p>The mock stores only name, namespace and labels as selectable fields, so a {@code spec.nodeName} field selector
 * would match nothing there. The dispatcher below records each GET and then drops the field selector, so the test
 * checks both that the selector is sent and that the source itself ignores pods of other nodes.
 */
class KubernetesMetadataTest {

  private static final String NODE = "node-a";
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String WEB_ID = "a".repeat(64);
  private static final String PROXY_ID = "b".repeat(64);
  private static final String INIT_ID = "c".repeat(64);

  private SelectorRecordingDispatcher dispatcher;
  private KubernetesMockServer server;
  private KubernetesClient client;
  private KubernetesMetadata source;
  private RecordingDiscoveryContext context;

  @BeforeEach
  void startServer() {
    dispatcher = new SelectorRecordingDispatcher();
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    server.init();
    client = server.createClient();
  }

  @AfterEach
  void stopServer() {
    if (source != null) {
      source.close();
    }
    client.close();
    server.destroy();
  }

  private void startSource(KubernetesMetadataConfig config) throws InterruptedException {
    context = new RecordingDiscoveryContext(NODE, Map.of());
    source = new KubernetesMetadata(client, config);
    source.start(context);
    assertTrue(await(WAIT, source::hasSynced), "pod informer synced");
  }

  @Test
  void describesDeploymentPodByContainerIdWithExactAttributes() throws Exception {
    client.apps().replicaSets().inNamespace("shop").resource(replicaSet("web-5d8f7c", "rs-uid", "web", "dep-uid"))
        .create();
    String podUid = client.pods().inNamespace("shop").resource(webPod()).create().getMetadata().getUid();
    startSource(new KubernetesMetadataConfig(KeySelection.parse(List.of("team")), KeySelection.NONE, true, true));
    await(WAIT, () -> describe(WEB_ID, null).map(m -> m.ownerKind().equals("Deployment")).orElse(false));

    WorkloadMetadata web = describe("containerd://" + WEB_ID, null).orElseThrow();
    assertEquals("shop", web.namespace());
    assertEquals("web-5d8f7c-x2k9p", web.podName());
    assertEquals("server", web.containerName());
    assertEquals("Deployment", web.ownerKind());
    assertEquals("web", web.ownerName());
    assertEquals(Map.of("app", "web", "team", "payments", "pod-template-hash", "5d8f7c"), web.labels());
    Attributes expected =
        Attributes.builder()
            .put("k8s.namespace.name", "shop")
            .put("k8s.pod.name", "web-5d8f7c-x2k9p")
            .put("k8s.pod.uid", podUid)
            .put("k8s.node.name", NODE)
            .put("k8s.pod.ip", "10.1.2.3")
            .put("k8s.container.name", "server")
            .put("container.id", WEB_ID)
            .put("k8s.replicaset.name", "web-5d8f7c")
            .put("k8s.replicaset.uid", "rs-uid")
            .put("k8s.deployment.name", "web")
            .put("k8s.deployment.uid", "dep-uid")
            .put("k8s.pod.label.team", "payments")
            .put("service.name", "web")
            .put("service.namespace", "shop")
            .put("service.version", "1.4.2@sha256:0123abcd")
            .put("service.instance.id", "shop.web-5d8f7c-x2k9p.server")
            .build();
    assertEquals(expected, web.resource());

    // The same pod through its sidecar and its init container, and a docker:// id from the cgroup is accepted too.
    assertEquals("proxy", describe(PROXY_ID, null).orElseThrow().containerName());
    assertEquals("init", describe("docker://" + INIT_ID, null).orElseThrow().containerName());
    assertTrue(dispatcher.paths.stream().anyMatch(p -> p.startsWith("/api/v1/pods?")
        && p.contains("fieldSelector=spec.nodeName%3D" + NODE)), "pods listed with the node selector: "
        + dispatcher.paths);
  }

  @Test
  void deploymentNameInferredFromPodTemplateHashWhenReplicaSetUnknown() throws Exception {
    client.pods().inNamespace("shop").resource(webPod()).create();
    startSource(KubernetesMetadataConfig.defaults());

    WorkloadMetadata web = describe(WEB_ID, null).orElseThrow();
    assertEquals("web", web.resource().get(AttributeKey.stringKey("k8s.deployment.name")));
    assertEquals(null, web.resource().get(AttributeKey.stringKey("k8s.deployment.uid")));
    assertEquals("web", serviceName(web));
  }

  @Test
  void serviceNamePrecedenceAcrossWorkloads() throws Exception {
    client.pods().inNamespace("db").resource(
        pod("db", "db-0", "uid-db", NODE, owner("StatefulSet", "db", "sts-uid"),
            Map.of("app.kubernetes.io/name", "postgres"), Map.of(), "server", "1".repeat(64))).create();
    client.pods().inNamespace("ops").resource(
        pod("ops", "agent-q7x", "uid-agent", NODE, owner("DaemonSet", "agent", "ds-uid"),
            Map.of("app.kubernetes.io/instance", "agent-prod", "app.kubernetes.io/name", "agent"), Map.of(),
            "agent", "2".repeat(64))).create();
    client.pods().inNamespace("shop").resource(
        pod("shop", "checkout", "uid-checkout", NODE, null, Map.of("app.kubernetes.io/name", "ignored"),
            Map.of("resource.opentelemetry.io/service.name", "checkout-svc",
                "resource.opentelemetry.io/deployment.environment.name", "prod",
                "resource.opentelemetry.io/k8s.pod.name", "spoofed"),
            "main", "3".repeat(64))).create();
    client.pods().inNamespace("shop").resource(
        pod("shop", "scratch", "uid-scratch", NODE, null, Map.of(), Map.of(), "main", "4".repeat(64))).create();
    client.batch().v1().jobs().inNamespace("ops").resource(job("report-28000000", "job-uid", "report", "cj-uid"))
        .create();
    client.pods().inNamespace("ops").resource(
        pod("ops", "report-28000000-abcde", "uid-report", NODE, owner("Job", "report-28000000", "job-uid"),
            Map.of(), Map.of(), "report", "5".repeat(64))).create();
    startSource(KubernetesMetadataConfig.defaults());
    // The informers fill their caches asynchronously: wait until every pod is described and the job's owner known.
    List<String> ids = List.of("1", "2", "3", "4", "5").stream().map(d -> d.repeat(64)).toList();
    assertTrue(await(WAIT, () -> ids.stream().allMatch(id -> describe(id, null).isPresent())
            && describe("5".repeat(64), null).map(m -> "CronJob".equals(m.ownerKind())).orElse(false)),
        () -> "described: " + ids.stream().map(id -> id.charAt(0) + "=" + describe(id, null).map(
            m -> String.valueOf(m.ownerKind())).orElse("absent")).toList() + "; requests: " + dispatcher.paths);

    WorkloadMetadata db = describe("1".repeat(64), null).orElseThrow();
    assertEquals("postgres", serviceName(db));
    assertEquals("StatefulSet", db.ownerKind());
    assertEquals("db", db.resource().get(AttributeKey.stringKey("k8s.statefulset.name")));
    assertEquals("sts-uid", db.resource().get(AttributeKey.stringKey("k8s.statefulset.uid")));

    WorkloadMetadata agent = describe("2".repeat(64), null).orElseThrow();
    assertEquals("agent-prod", serviceName(agent));
    assertEquals("agent", agent.resource().get(AttributeKey.stringKey("k8s.daemonset.name")));

    WorkloadMetadata checkout = describe("3".repeat(64), null).orElseThrow();
    assertEquals("checkout-svc", serviceName(checkout));
    assertEquals("prod", checkout.resource().get(AttributeKey.stringKey("deployment.environment.name")));
    assertEquals("checkout", checkout.resource().get(AttributeKey.stringKey("k8s.pod.name")));
    assertEquals(null, checkout.ownerKind());

    assertEquals("scratch", serviceName(describe("4".repeat(64), null).orElseThrow()));

    WorkloadMetadata report = describe("5".repeat(64), null).orElseThrow();
    assertEquals("report", serviceName(report));
    assertEquals("CronJob", report.ownerKind());
    assertEquals("report-28000000", report.resource().get(AttributeKey.stringKey("k8s.job.name")));
    assertEquals("cj-uid", report.resource().get(AttributeKey.stringKey("k8s.cronjob.uid")));
  }

  @Test
  void wellKnownLabelsCanBeSwitchedOff() throws Exception {
    client.pods().inNamespace("db").resource(
        pod("db", "db-0", "uid-db", NODE, owner("StatefulSet", "db", "sts-uid"),
            Map.of("app.kubernetes.io/name", "postgres", "app.kubernetes.io/version", "15"), Map.of(), "server",
            "1".repeat(64))).create();
    startSource(new KubernetesMetadataConfig(KeySelection.NONE, KeySelection.NONE, false, false));
    WorkloadMetadata db = describe("1".repeat(64), null).orElseThrow();
    assertEquals("db", serviceName(db));
    assertEquals("17.2", db.resource().get(AttributeKey.stringKey("service.version")));
  }

  @Test
  void podOnAnotherNodeIsNotSeen() throws Exception {
    String elsewhereUid = client.pods().inNamespace("shop").resource(
        pod("shop", "elsewhere", "uid-elsewhere", "node-b", null, Map.of(), Map.of(), "main", "9".repeat(64)))
        .create().getMetadata().getUid();
    client.pods().inNamespace("shop").resource(webPod()).create();
    startSource(KubernetesMetadataConfig.defaults());
    assertTrue(describe(WEB_ID, null).isPresent());
    assertEquals(Optional.empty(), describe("9".repeat(64), null));
    assertEquals(Optional.empty(), describe(null, elsewhereUid));
  }

  @Test
  void describesByPodUidWhenContainerIdIsUnknown() throws Exception {
    String scratchUid = client.pods().inNamespace("shop").resource(
        pod("shop", "scratch", "ignored", NODE, null, Map.of(), Map.of(), "main", "4".repeat(64))).create()
        .getMetadata().getUid();
    String webUid = client.pods().inNamespace("shop").resource(webPod()).create().getMetadata().getUid();
    startSource(KubernetesMetadataConfig.defaults());

    // systemd cgroup driver form (underscores), single-container pod: the container is known.
    WorkloadMetadata scratch = describe(null, scratchUid.replace('-', '_')).orElseThrow();
    assertEquals("scratch", scratch.podName());
    assertEquals("main", scratch.containerName());
    // Multi-container pod by uid only: pod known, container not.
    WorkloadMetadata web = describe(null, webUid).orElseThrow();
    assertEquals("web-5d8f7c-x2k9p", web.podName());
    assertEquals(null, web.containerName());
    // A 12-character id with the pod uid picks the container.
    assertEquals("server", describe(WEB_ID.substring(0, 12), webUid).orElseThrow().containerName());
    assertEquals(Optional.empty(), describe("f".repeat(64), "no-such-uid"));
  }

  @Test
  void labelUpdateIsReflectedAndDeletionRemovesThePod() throws Exception {
    client.pods().inNamespace("shop").resource(webPod()).create();
    startSource(new KubernetesMetadataConfig(KeySelection.ALL, KeySelection.NONE, true, false));
    assertTrue(await(WAIT, () -> context.metadataChanged.get() >= 1), "metadataChanged on add");
    int before = context.metadataChanged.get();

    client.pods().inNamespace("shop").withName("web-5d8f7c-x2k9p")
        .edit(p -> new PodBuilder(p).editMetadata().addToLabels("team", "checkout")
            .addToLabels("app.kubernetes.io/instance", "web-blue").endMetadata().build());
    assertTrue(await(WAIT, () -> describe(WEB_ID, null).map(m -> "checkout".equals(m.labels().get("team")))
        .orElse(false)), "label change reflected");
    WorkloadMetadata web = describe(WEB_ID, null).orElseThrow();
    assertEquals("checkout", web.resource().get(AttributeKey.stringKey("k8s.pod.label.team")));
    assertEquals("web-blue", serviceName(web));
    assertTrue(await(WAIT, () -> context.metadataChanged.get() > before), "metadataChanged on update");

    // A status-only change, then a label change: events arrive in order, so once the label shows, the status
    // change has been handled too, and only the label change may have counted.
    assertTrue(await(WAIT, () -> context.metadataChanged.get() > before));
    Thread.sleep(200);
    int beforeStatusChurn = context.metadataChanged.get();
    client.pods().inNamespace("shop").withName("web-5d8f7c-x2k9p")
        .edit(p -> new PodBuilder(p).editStatus().withPhase("Succeeded").endStatus().build());
    client.pods().inNamespace("shop").withName("web-5d8f7c-x2k9p")
        .edit(p -> new PodBuilder(p).editMetadata().addToLabels("team", "late").endMetadata().build());
    assertTrue(await(WAIT, () -> describe(WEB_ID, null).map(m -> "late".equals(m.labels().get("team")))
        .orElse(false)));
    assertEquals(beforeStatusChurn + 1, context.metadataChanged.get(), "a status-only change is not a metadata change");

    int beforeDelete = context.metadataChanged.get();
    client.pods().inNamespace("shop").withName("web-5d8f7c-x2k9p").delete();
    assertTrue(await(WAIT, () -> describe(WEB_ID, null).isEmpty()), "deleted pod no longer described");
    assertTrue(await(WAIT, () -> context.metadataChanged.get() > beforeDelete), "metadataChanged on delete");
  }

  @Test
  void replicaSetArrivingLaterUpgradesInferredDeploymentAndNotifies() throws Exception {
    client.pods().inNamespace("shop").resource(webPod()).create();
    startSource(KubernetesMetadataConfig.defaults());
    assertTrue(await(WAIT, () -> context.metadataChanged.get() >= 1));
    int before = context.metadataChanged.get();
    client.apps().replicaSets().inNamespace("shop").resource(replicaSet("web-5d8f7c", "rs-uid", "web", "dep-uid"))
        .create();
    assertTrue(await(WAIT, () -> context.metadataChanged.get() > before), "metadataChanged on owner add");
    assertEquals("dep-uid",
        describe(WEB_ID, null).orElseThrow().resource().get(AttributeKey.stringKey("k8s.deployment.uid")));
  }

  @Test
  void cachesSurviveTheApiServerGoingAway() throws Exception {
    client.pods().inNamespace("shop").resource(webPod()).create();
    startSource(KubernetesMetadataConfig.defaults());
    assertTrue(describe(WEB_ID, null).isPresent());
    server.destroy();
    Thread.sleep(500);
    assertEquals("web-5d8f7c-x2k9p", describe(WEB_ID, null).orElseThrow().podName());
  }

  private Optional<WorkloadMetadata> describe(String containerId, String podUid) {
    return source.describe(new ProcessInfo(4242, List.of(4242, 1), "/app/server", List.of("/app/server"), Map.of(),
        1000L, containerId, podUid));
  }

  private static String serviceName(WorkloadMetadata m) {
    return m.resource().get(AttributeKey.stringKey("service.name"));
  }

  private static Pod webPod() {
    return new PodBuilder()
        .withNewMetadata()
        .withNamespace("shop")
        .withName("web-5d8f7c-x2k9p")
        .withUid("0b7e2a3c-1111-2222-3333-444455556666")
        .withLabels(Map.of("app", "web", "team", "payments", "pod-template-hash", "5d8f7c"))
        .withOwnerReferences(owner("ReplicaSet", "web-5d8f7c", "rs-uid"))
        .endMetadata()
        .withNewSpec()
        .withNodeName(NODE)
        .addNewInitContainer().withName("init").withImage("busybox:1.36").endInitContainer()
        .addNewContainer().withName("server").withImage("registry.local:5000/shop/web:1.4.2@sha256:0123abcd")
        .endContainer()
        .addNewContainer().withName("proxy").withImage("envoy:1.30").endContainer()
        .endSpec()
        .withNewStatus()
        .withPodIP("10.1.2.3")
        .withPhase("Running")
        .addToInitContainerStatuses(new ContainerStatusBuilder().withName("init")
            .withContainerID("cri-o://" + INIT_ID).build())
        .addToContainerStatuses(new ContainerStatusBuilder().withName("server")
            .withContainerID("containerd://" + WEB_ID).build())
        .addToContainerStatuses(new ContainerStatusBuilder().withName("proxy")
            .withContainerID("containerd://" + PROXY_ID).build())
        .endStatus()
        .build();
  }

  private static Pod pod(String namespace, String name, String uid, String node, OwnerReference owner,
      Map<String, String> labels, Map<String, String> annotations, String container, String containerId) {
    PodBuilder b = new PodBuilder()
        .withNewMetadata().withNamespace(namespace).withName(name).withUid(uid).withLabels(labels)
        .withAnnotations(annotations).endMetadata()
        .withNewSpec().withNodeName(node)
        .addNewContainer().withName(container).withImage("example/" + container + ":17.2").endContainer()
        .endSpec()
        .withNewStatus().addToContainerStatuses(new ContainerStatusBuilder().withName(container)
            .withContainerID("containerd://" + containerId).build()).endStatus();
    if (owner != null) {
      b.editMetadata().withOwnerReferences(owner).endMetadata();
    }
    return b.build();
  }

  private static OwnerReference owner(String kind, String name, String uid) {
    return new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind(kind).withName(name).withUid(uid)
        .withController(true).build();
  }

  private static ReplicaSet replicaSet(String name, String uid, String deployment, String deploymentUid) {
    return new ReplicaSetBuilder().withNewMetadata().withName(name).withUid(uid)
        .withOwnerReferences(owner("Deployment", deployment, deploymentUid)).endMetadata().build();
  }

  private static Job job(String name, String uid, String cronJob, String cronJobUid) {
    return new JobBuilder().withNewMetadata().withName(name).withUid(uid)
        .withOwnerReferences(owner("CronJob", cronJob, cronJobUid)).endMetadata().build();
  }

  /** Records every GET path, then serves it without the field selector the mock cannot evaluate. */
  private static final class SelectorRecordingDispatcher extends KubernetesCrudDispatcher {
    final List<String> paths = new CopyOnWriteArrayList<>();

    @Override
    public MockResponse handleGet(String path) {
      paths.add(path);
      String stripped = path.replaceAll("fieldSelector=[^&]*&?", "").replaceAll("[?&]$", "");
      return super.handleGet(stripped);
    }
  }
}
