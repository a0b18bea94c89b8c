package io.goscope.platform.discovery.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.goscope.api.Nullable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The informer indexes over cached pods: by container id, by pod uid and by owner ({@code namespace/name}). Pods
 * on other nodes are left out of every index, so a server that ignored the {@code spec.nodeName} field selector
 * still cannot make another node's pod describe a local process.
 */
final class PodIndexes {

  static final String BY_CONTAINER_ID = "goscope.containerId";
  static final String BY_UID = "goscope.uid";
  static final String BY_OWNER = "goscope.owner";

  private PodIndexes() {}

  static Map<String, Function<Pod, List<String>>> all(String nodeName) {
    return Map.of(
        BY_CONTAINER_ID, onNode(nodeName, PodIndexes::containerIds),
        BY_UID, onNode(nodeName, PodIndexes::uid),
        BY_OWNER, onNode(nodeName, PodIndexes::owners));
  }

  private static Function<Pod, List<String>> onNode(String nodeName, Function<Pod, List<String>> index) {
    return pod ->
        pod.getSpec() != null && nodeName.equals(pod.getSpec().getNodeName()) ? index.apply(pod) : List.of();
  }

  static List<String> containerIds(Pod pod) {
    List<String> ids = new ArrayList<>();
    for (PodContainer c : PodContainer.of(pod)) {
      if (c.id() != null) {
        ids.add(c.id());
      }
    }
    return ids;
  }

  static List<String> uid(Pod pod) {
    String uid = normalizeUid(pod.getMetadata().getUid());
    return uid == null ? List.of() : List.of(uid);
  }

  /** Keys {@code namespace/name} of the pod's owners, the form {@link #ownerKey} gives for an owner object. */
  static List<String> owners(Pod pod) {
    List<OwnerReference> refs = pod.getMetadata().getOwnerReferences();
    String namespace = pod.getMetadata().getNamespace();
    if (refs == null || namespace == null) {
      return List.of();
    }
    return refs.stream().map(OwnerReference::getName).filter(Objects::nonNull).map(n -> namespace + "/" + n)
        .toList();
  }

  /** The {@link #BY_OWNER} key of an owning object. */
  static String ownerKey(HasMetadata owner) {
    return owner.getMetadata().getNamespace() + "/" + owner.getMetadata().getName();
  }

  /**
   * A pod uid in the API server's form: lower case with dashes. The systemd cgroup driver writes the uid with
   * underscores ({@code kubepods-burstable-pod1234_5678.slice}), so those are turned back into dashes.
   */
  @Nullable
  static String normalizeUid(@Nullable String uid) {
    if (uid == null || uid.isBlank()) {
      return null;
    }
    return uid.trim().replace('_', '-').toLowerCase(Locale.ROOT);
  }
}
