package io.goscope.platform.discovery.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.goscope.api.Nullable;
import io.goscope.api.WorkloadMetadata;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import java.util.Map;
import java.util.Optional;

/**
 * Turns a cached pod, one of its containers and its owners into {@link WorkloadMetadata} with resource attributes
 * named by the OpenTelemetry semantic conventions ({@code k8s.*}, {@code container.id}, {@code service.*}).
 *
 * <p>Following the conventions' "populating resource attributes in Kubernetes" page:
 *
 * <ul>
 *   <li>every pod annotation {@code resource.opentelemetry.io/<attr>} becomes resource attribute {@code <attr>};
 *       identity attributes this class reads from the pod itself ({@code k8s.*}, {@code container.id}) win over such
 *       annotations so that a pod cannot claim to be another;
 *   <li>{@code service.name}: annotation, then labels {@code app.kubernetes.io/instance} and
 *       {@code app.kubernetes.io/name} (when well-known labels are enabled), then the Deployment, ReplicaSet,
 *       StatefulSet, DaemonSet, CronJob, Job, pod and container names;
 *   <li>{@code service.namespace}: annotation, then {@code k8s.namespace.name};
 *   <li>{@code service.version}: annotation, then label {@code app.kubernetes.io/version} (when enabled), then the
 *       container image's {@code <tag>@<digest>}, digest or tag;
 *   <li>{@code service.instance.id}: annotation, then {@code <namespace>.<pod>.<container>}.
 * </ul>
 */
final class PodMetadata {

  static final String RESOURCE_ANNOTATION_PREFIX = "resource.opentelemetry.io/";
  static final String LABEL_INSTANCE = "app.kubernetes.io/instance";
  static final String LABEL_NAME = "app.kubernetes.io/name";
  static final String LABEL_VERSION = "app.kubernetes.io/version";

  static final AttributeKey<String> SERVICE_NAME = AttributeKey.stringKey("service.name");
  static final AttributeKey<String> SERVICE_NAMESPACE = AttributeKey.stringKey("service.namespace");
  static final AttributeKey<String> SERVICE_VERSION = AttributeKey.stringKey("service.version");
  static final AttributeKey<String> SERVICE_INSTANCE_ID = AttributeKey.stringKey("service.instance.id");
  static final AttributeKey<String> K8S_NAMESPACE_NAME = AttributeKey.stringKey("k8s.namespace.name");
  static final AttributeKey<String> K8S_POD_NAME = AttributeKey.stringKey("k8s.pod.name");
  static final AttributeKey<String> K8S_POD_UID = AttributeKey.stringKey("k8s.pod.uid");
  static final AttributeKey<String> K8S_POD_IP = AttributeKey.stringKey("k8s.pod.ip");
  static final AttributeKey<String> K8S_NODE_NAME = AttributeKey.stringKey("k8s.node.name");
  static final AttributeKey<String> K8S_CONTAINER_NAME = AttributeKey.stringKey("k8s.container.name");
  static final AttributeKey<String> CONTAINER_ID = AttributeKey.stringKey("container.id");
  static final String K8S_POD_LABEL_PREFIX = "k8s.pod.label.";
  static final String K8S_POD_ANNOTATION_PREFIX = "k8s.pod.annotation.";

  private PodMetadata() {}

  /**
   * Describes a pod (and, when known, one container of it).
   *
   * @param containerName the container the process runs in, or null when only the pod is known
   * @param containerId the runtime container id without scheme, or null
   */
  static WorkloadMetadata describe(
      Pod pod,
      @Nullable String containerName,
      @Nullable String containerId,
      WorkloadOwners owners,
      KubernetesMetadataConfig config) {
    requireNonNull(pod, "pod");
    requireNonNull(owners, "owners");
    requireNonNull(config, "config");
    ObjectMeta meta = pod.getMetadata();
    Map<String, String> labels = meta.getLabels() == null ? Map.of() : meta.getLabels();
    Map<String, String> annotations = meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
    String namespace = meta.getNamespace();
    String podName = meta.getName();

    AttributesBuilder resource = Attributes.builder();
    annotations.forEach(
        (key, value) -> {
          if (key.startsWith(RESOURCE_ANNOTATION_PREFIX) && key.length() > RESOURCE_ANNOTATION_PREFIX.length()) {
            resource.put(key.substring(RESOURCE_ANNOTATION_PREFIX.length()), value);
          }
        });
    labels.forEach(
        (key, value) -> {
          if (config.podLabels().includes(key)) {
            resource.put(K8S_POD_LABEL_PREFIX + key, value);
          }
        });
    annotations.forEach(
        (key, value) -> {
          if (config.podAnnotations().includes(key)) {
            resource.put(K8S_POD_ANNOTATION_PREFIX + key, value);
          }
        });

    putIfPresent(resource, K8S_NAMESPACE_NAME, namespace);
    putIfPresent(resource, K8S_POD_NAME, podName);
    putIfPresent(resource, K8S_POD_UID, meta.getUid());
    putIfPresent(resource, K8S_NODE_NAME, pod.getSpec() == null ? null : pod.getSpec().getNodeName());
    if (config.podIp()) {
      putIfPresent(resource, K8S_POD_IP, pod.getStatus() == null ? null : pod.getStatus().getPodIP());
    }
    putIfPresent(resource, K8S_CONTAINER_NAME, containerName);
    putIfPresent(resource, CONTAINER_ID, containerId);
    owners.owners().forEach(
        (kind, owner) -> {
          resource.put(kind.nameAttribute(), owner.name());
          if (owner.uid() != null) {
            resource.put(kind.uidAttribute(), owner.uid());
          }
        });

    putIfPresent(resource, SERVICE_NAME, serviceName(podName, containerName, labels, annotations, owners, config));
    putIfPresent(resource, SERVICE_NAMESPACE, first(annotation(annotations, SERVICE_NAMESPACE), namespace));
    putIfPresent(resource, SERVICE_VERSION, serviceVersion(pod, containerName, labels, annotations, config));
    putIfPresent(
        resource,
        SERVICE_INSTANCE_ID,
        first(
            annotation(annotations, SERVICE_INSTANCE_ID),
            namespace != null && podName != null && containerName != null
                ? namespace + "." + podName + "." + containerName
                : null));

    Optional<Map.Entry<WorkloadKind, WorkloadOwners.Owner>> top = owners.topLevel();
    return new WorkloadMetadata(
        namespace,
        podName,
        containerName,
        labels,
        annotations,
        top.map(e -> e.getKey().kind()).orElse(null),
        top.map(e -> e.getValue().name()).orElse(null),
        resource.build());
  }

  @Nullable
  static String serviceName(
      @Nullable String podName,
      @Nullable String containerName,
      Map<String, String> labels,
      Map<String, String> annotations,
      WorkloadOwners owners,
      KubernetesMetadataConfig config) {
    String fromAnnotation = annotation(annotations, SERVICE_NAME);
    if (fromAnnotation != null) {
      return fromAnnotation;
    }
    if (config.serviceFromWellKnownLabels()) {
      String fromLabel = first(nonEmpty(labels.get(LABEL_INSTANCE)), nonEmpty(labels.get(LABEL_NAME)));
      if (fromLabel != null) {
        return fromLabel;
      }
    }
    for (WorkloadKind kind : WorkloadKind.values()) {
      Optional<WorkloadOwners.Owner> owner = owners.get(kind);
      if (owner.isPresent()) {
        return owner.get().name();
      }
    }
    return first(nonEmpty(podName), nonEmpty(containerName));
  }

  @Nullable
  private static String serviceVersion(
      Pod pod,
      @Nullable String containerName,
      Map<String, String> labels,
      Map<String, String> annotations,
      KubernetesMetadataConfig config) {
    String fromAnnotation = annotation(annotations, SERVICE_VERSION);
    if (fromAnnotation != null) {
      return fromAnnotation;
    }
    if (config.serviceFromWellKnownLabels()) {
      String fromLabel = nonEmpty(labels.get(LABEL_VERSION));
      if (fromLabel != null) {
        return fromLabel;
      }
    }
    if (containerName == null) {
      return null;
    }
    String image = PodContainer.specImage(pod, containerName);
    return image == null ? null : ImageReference.parse(image).serviceVersion();
  }

  @Nullable
  private static String annotation(Map<String, String> annotations, AttributeKey<String> key) {
    return nonEmpty(annotations.get(RESOURCE_ANNOTATION_PREFIX + key.getKey()));
  }

  @Nullable
  private static String first(@Nullable String a, @Nullable String b) {
    return a != null ? a : b;
  }

  @Nullable
  private static String nonEmpty(@Nullable String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  private static void putIfPresent(AttributesBuilder builder, AttributeKey<String> key, @Nullable String value) {
    if (value != null && !value.isEmpty()) {
      builder.put(key, value);
    }
  }
}
