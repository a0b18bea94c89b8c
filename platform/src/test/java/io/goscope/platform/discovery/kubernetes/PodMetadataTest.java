package io.goscope.platform.discovery.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.goscope.api.WorkloadMetadata;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Semantic-convention derivations, without an API server. */
class PodMetadataTest {

  private static final KubernetesMetadataConfig DEFAULTS = KubernetesMetadataConfig.defaults();

  @Test
  void serviceNameFollowsTheSemconvPrecedence() {
    Map<WorkloadKind, WorkloadOwners.Owner> all = new EnumMap<>(WorkloadKind.class);
    for (WorkloadKind k : WorkloadKind.values()) {
      all.put(k, new WorkloadOwners.Owner(k.name().toLowerCase(), null));
    }
    Map<String, String> annotation = Map.of("resource.opentelemetry.io/service.name", "from-annotation");
    Map<String, String> labels = Map.of("app.kubernetes.io/instance", "instance", "app.kubernetes.io/name", "name");

    assertEquals("from-annotation", name("pod", "c", labels, annotation, all));
    assertEquals("instance", name("pod", "c", labels, Map.of(), all));
    assertEquals("name", name("pod", "c", Map.of("app.kubernetes.io/name", "name"), Map.of(), all));
    // Owners from ancestor to descendant: deployment, replicaset, statefulset, daemonset, cronjob, job.
    String[] expected = {"deployment", "replica_set", "stateful_set", "daemon_set", "cron_job", "job"};
    Map<WorkloadKind, WorkloadOwners.Owner> remaining = new EnumMap<>(all);
    for (int i = 0; i < WorkloadKind.values().length; i++) {
      assertEquals(expected[i], name("pod", "c", Map.of(), Map.of(), remaining));
      remaining.remove(WorkloadKind.values()[i]);
    }
    assertEquals("pod", name("pod", "c", Map.of(), Map.of(), remaining));
    assertEquals("c", name(null, "c", Map.of(), Map.of(), remaining));
    assertNull(name(null, null, Map.of(), Map.of(), remaining));
    // An empty annotation or label does not count as a value.
    assertEquals("deployment",
        name("pod", "c", Map.of("app.kubernetes.io/name", ""), Map.of("resource.opentelemetry.io/service.name", ""),
            all));
  }

  @Test
  void wellKnownLabelsAreIgnoredWhenSwitchedOff() {
    KubernetesMetadataConfig off = new KubernetesMetadataConfig(KeySelection.NONE, KeySelection.NONE, false, false);
    assertEquals("pod", PodMetadata.serviceName("pod", "c", Map.of("app.kubernetes.io/instance", "i"), Map.of(),
        WorkloadOwners.NONE, off));
  }

  @Test
  void resourceAnnotationsBecomeAttributesButCannotOverrideIdentity() {
    Pod pod = pod(Map.of("app.kubernetes.io/version", "2.0"),
        Map.of("resource.opentelemetry.io/service.namespace", "team-a",
            "resource.opentelemetry.io/service.instance.id", "i-1",
            "resource.opentelemetry.io/k8s.namespace.name", "spoofed",
            "resource.opentelemetry.io/", "empty-key-ignored",
            "note", "n"));
    WorkloadMetadata m = PodMetadata.describe(pod, "main", "abc", WorkloadOwners.NONE,
        new KubernetesMetadataConfig(KeySelection.NONE, KeySelection.parse(List.of("note")), true, false));
    assertEquals("team-a", attr(m, "service.namespace"));
    assertEquals("i-1", attr(m, "service.instance.id"));
    assertEquals("ns", attr(m, "k8s.namespace.name"));
    assertEquals("2.0", attr(m, "service.version"));
    assertEquals("n", attr(m, "k8s.pod.annotation.note"));
    assertNull(attr(m, "k8s.pod.ip"));
    assertNull(attr(m, ""));
  }

  @Test
  void serviceVersionFallsBackToTheImageAndInstanceIdNeedsAContainer() {
    Pod pod = pod(Map.of(), Map.of());
    WorkloadMetadata withContainer = PodMetadata.describe(pod, "main", null, WorkloadOwners.NONE, DEFAULTS);
    assertEquals("v3", attr(withContainer, "service.version"));
    assertEquals("ns.p.main", attr(withContainer, "service.instance.id"));
    WorkloadMetadata podOnly = PodMetadata.describe(pod, null, null, WorkloadOwners.NONE, DEFAULTS);
    assertNull(attr(podOnly, "service.version"));
    assertNull(attr(podOnly, "service.instance.id"));
    assertNull(attr(podOnly, "k8s.container.name"));
    assertEquals("p", attr(podOnly, "service.name"));
  }

  @Test
  void imageReferenceSplitsTagAndDigestLikeTheDistributionGrammar() {
    assertEquals(new ImageReference("registry:5000/a/b", "1.2", "sha256:ff"),
        ImageReference.parse("registry:5000/a/b:1.2@sha256:ff"));
    assertEquals("1.2@sha256:ff", ImageReference.parse("registry:5000/a/b:1.2@sha256:ff").serviceVersion());
    assertEquals("sha256:ff", ImageReference.parse("a/b@sha256:ff").serviceVersion());
    assertEquals("1.2", ImageReference.parse("b:1.2").serviceVersion());
    assertNull(ImageReference.parse("registry:5000/a/b").serviceVersion());
    assertNull(ImageReference.parse("b:").serviceVersion());
  }

  @Test
  void containerIdsLoseTheirRuntimeScheme() {
    assertEquals("abc", PodContainer.normalizeId("containerd://abc"));
    assertEquals("abc", PodContainer.normalizeId("cri-o://abc"));
    assertEquals("abc", PodContainer.normalizeId("docker://ABC"));
    assertEquals("abc", PodContainer.normalizeId("abc"));
    assertNull(PodContainer.normalizeId("containerd://"));
    assertNull(PodContainer.normalizeId(null));
    assertEquals("0b7e-11", PodIndexes.normalizeUid("0B7E_11"));
  }

  @Test
  void deploymentInferredOnlyFromAMatchingTemplateHash() {
    assertEquals("web", OwnerResolver.deploymentFromHash("web-5d8f", Map.of("pod-template-hash", "5d8f")));
    assertNull(OwnerResolver.deploymentFromHash("web-5d8f", Map.of("pod-template-hash", "other")));
    assertNull(OwnerResolver.deploymentFromHash("-5d8f", Map.of("pod-template-hash", "5d8f")));
    assertNull(OwnerResolver.deploymentFromHash("web-5d8f", null));
  }

  @Test
  void configIsReadFromOtelStyleProperties() {
    KubernetesMetadataConfig c = KubernetesMetadataConfig.from(DefaultConfigProperties.createFromMap(
        Map.of("goscope.pod.labels", "app, team", "goscope.pod.annotations", "*",
            "goscope.k8s.service.from.labels", "false", "goscope.k8s.pod.ip", "true")));
    assertEquals(new KubernetesMetadataConfig(KeySelection.parse(List.of("app", "team")), KeySelection.ALL, false,
        true), c);
    assertEquals(KubernetesMetadataConfig.defaults(),
        KubernetesMetadataConfig.from(DefaultConfigProperties.createFromMap(Map.of())));
  }

  private static String name(String pod, String container, Map<String, String> labels,
      Map<String, String> annotations, Map<WorkloadKind, WorkloadOwners.Owner> owners) {
    return PodMetadata.serviceName(pod, container, labels, annotations, new WorkloadOwners(owners), DEFAULTS);
  }

  private static String attr(WorkloadMetadata m, String key) {
    return m.resource().get(AttributeKey.stringKey(key));
  }

  private static Pod pod(Map<String, String> labels, Map<String, String> annotations) {
    return new PodBuilder()
        .withNewMetadata().withNamespace("ns").withName("p").withUid("u").withLabels(labels)
        .withAnnotations(annotations).endMetadata()
        .withNewSpec().withNodeName("n").addNewContainer().withName("main").withImage("img:v3").endContainer()
        .endSpec()
        .withNewStatus().addToContainerStatuses(new ContainerStatusBuilder().withName("main")
            .withContainerID("containerd://abc").build()).endStatus()
        .build();
  }
}
