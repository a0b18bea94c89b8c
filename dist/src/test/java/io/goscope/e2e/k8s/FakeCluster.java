package io.goscope.e2e.k8s;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.ReplicaSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.goscope.testing.PodCgroup.QosClass;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A Kubernetes API server for the agent under test: fabric8's mock server in CRUD mode (list and watch work), a
 * kubeconfig file pointing at it, and builders for the objects a node's pods come with: a Deployment, its
 * ReplicaSet and pods owned by that ReplicaSet whose {@code status.containerStatuses[].containerID} is
 * {@code containerd://<id>}.
 */
public final class FakeCluster implements AutoCloseable {
  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final String nodeName;

  /** A Deployment and its current ReplicaSet. */
  record Workload(String namespace, String deployment, String deploymentUid, String replicaSet,
      String replicaSetUid, Map<String, String> labels, String image) {}

  private FakeCluster(KubernetesMockServer server, String nodeName) {
    this.server = server;
    this.client = server.createClient();
    this.nodeName = nodeName;
  }

  public static FakeCluster start(String nodeName) {
    KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        new FieldSelectorIgnoringDispatcher(), false);
    server.init();
    return new FakeCluster(server, nodeName);
  }

  KubernetesClient client() {
    return client;
  }

  String nodeName() {
    return nodeName;
  }

  /** Writes a kubeconfig for {@code KUBECONFIG} that points at the mock server (plain HTTP, no credentials). */
  public Path writeKubeconfig(Path file) throws IOException {
    String url = client.getConfiguration().getMasterUrl().replaceAll("/+$", "");
    String yaml = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
            server: %s
            insecure-skip-tls-verify: true
        users:
        - name: fake
          user:
            token: fake-token
        contexts:
        - name: fake
          context:
            cluster: fake
            user: fake
            namespace: default
        current-context: fake
        """.formatted(url);
    Files.writeString(file, yaml);
    return file;
  }

  /** Creates a Deployment and a ReplicaSet {@code <name>-<hash>} owned by it. */
  Workload deployment(String namespace, String name, String templateHash, Map<String, String> labels, String image) {
    Deployment d = client.apps().deployments().inNamespace(namespace).resource(new DeploymentBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace).withLabels(labels).endMetadata()
        .withNewSpec().withReplicas(1).withNewSelector().withMatchLabels(labels).endSelector()
        .withNewTemplate().withNewMetadata().withLabels(labels).endMetadata().withNewSpec().addNewContainer()
        .withName(name).withImage(image).endContainer().endSpec().endTemplate().endSpec().build()).create();
    Map<String, String> rsLabels = new LinkedHashMap<>(labels);
    rsLabels.put("pod-template-hash", templateHash);
    ReplicaSet rs = client.apps().replicaSets().inNamespace(namespace).resource(new ReplicaSetBuilder()
        .withNewMetadata().withName(name + "-" + templateHash).withNamespace(namespace).withLabels(rsLabels)
        .withOwnerReferences(owner("apps/v1", "Deployment", name, d.getMetadata().getUid())).endMetadata()
        .withNewSpec().withReplicas(1).withNewSelector().withMatchLabels(rsLabels).endSelector().endSpec()
        .build()).create();
    return new Workload(namespace, name, d.getMetadata().getUid(), rs.getMetadata().getName(),
        rs.getMetadata().getUid(), Map.copyOf(rsLabels), image);
  }

  /** A new ReplicaSet {@code <deployment>-<hash>} of an existing Deployment (the next revision of a rollout). */
  Workload replicaSet(Workload deployment, String templateHash) {
    Map<String, String> rsLabels = new LinkedHashMap<>(deployment.labels());
    rsLabels.put("pod-template-hash", templateHash);
    String ns = deployment.namespace();
    ReplicaSet rs = client.apps().replicaSets().inNamespace(ns).resource(new ReplicaSetBuilder()
        .withNewMetadata().withName(deployment.deployment() + "-" + templateHash).withNamespace(ns)
        .withLabels(rsLabels)
        .withOwnerReferences(owner("apps/v1", "Deployment", deployment.deployment(), deployment.deploymentUid()))
        .endMetadata().withNewSpec().withReplicas(1).withNewSelector().withMatchLabels(rsLabels).endSelector()
        .endSpec().build()).create();
    return new Workload(ns, deployment.deployment(), deployment.deploymentUid(), rs.getMetadata().getName(),
        rs.getMetadata().getUid(), Map.copyOf(rsLabels), deployment.image());
  }

  /**
   * Creates a pod of {@code workload} scheduled on this node, with one container {@code containerName} whose
   * status names {@code containerId}; returns the pod as stored (its uid is the server's).
   */
  Pod createPod(Workload workload, String podName, String containerName, String containerId, QosClass qos,
      Map<String, String> extraLabels, Map<String, String> annotations) {
    Map<String, String> labels = new LinkedHashMap<>(workload.labels());
    labels.putAll(extraLabels);
    Pod pod = new PodBuilder()
        .withNewMetadata().withName(podName).withNamespace(workload.namespace()).withLabels(labels)
        .withAnnotations(annotations)
        .withOwnerReferences(owner("apps/v1", "ReplicaSet", workload.replicaSet(), workload.replicaSetUid()))
        .endMetadata()
        .withNewSpec().withNodeName(nodeName).addNewContainer().withName(containerName).withImage(workload.image())
        .endContainer().endSpec()
        .withNewStatus().withPhase("Running").withQosClass(qosName(qos)).withPodIP("10.244.0." + (podName.length()))
        .withContainerStatuses(new ContainerStatusBuilder().withName(containerName).withImage(workload.image())
            .withContainerID("containerd://" + containerId).withReady(true).withRestartCount(0)
            .withNewState().withNewRunning().withStartedAt("2024-01-01T00:00:00Z").endRunning().endState()
            .build())
        .endStatus().build();
    Pod created = client.pods().inNamespace(workload.namespace()).resource(pod).create();
    if (created.getStatus() == null || created.getStatus().getContainerStatuses() == null
        || created.getStatus().getContainerStatuses().isEmpty()) {
      created.setStatus(pod.getStatus());
      created = client.pods().inNamespace(workload.namespace()).resource(created).updateStatus();
    }
    return created;
  }

  /** Sets the container id of a pod's only container (a container restart recreates the container). */
  Pod setContainerId(Pod pod, String containerId, int restartCount) {
    return client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
        .editStatus(p -> {
          p.getStatus().getContainerStatuses().get(0).setContainerID("containerd://" + containerId);
          p.getStatus().getContainerStatuses().get(0).setRestartCount(restartCount);
          return p;
        });
  }

  void deletePod(Pod pod) {
    client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).delete();
  }

  private static String qosName(QosClass qos) {
    return switch (qos) {
      case GUARANTEED -> "Guaranteed";
      case BURSTABLE -> "Burstable";
      case BEST_EFFORT -> "BestEffort";
    };
  }

  private static OwnerReference owner(String apiVersion, String kind, String name, String uid) {
    return new OwnerReferenceBuilder().withApiVersion(apiVersion).withKind(kind).withName(name).withUid(uid)
        .withController(true).withBlockOwnerDeletion(true).build();
  }

  @Override
  public void close() {
    client.close();
    server.destroy();
  }

  /**
   * The mock cannot evaluate field selectors such as {@code spec.nodeName=<node>}: serve list and watch without
   * them (every pod in this fake cluster is on the node anyway unless a test says otherwise).
   */
  private static final class FieldSelectorIgnoringDispatcher extends KubernetesCrudDispatcher {
    @Override
    public MockResponse handleGet(String path) {
      return super.handleGet(strip(requireNonNull(path, "path")));
    }

    @Override
    public MockResponse handleWatch(String path) {
      return super.handleWatch(strip(path));
    }

    private static String strip(String path) {
      return path.replaceAll("fieldSelector=[^&]*&?", "").replaceAll("[?&]$", "");
    }
  }
}
