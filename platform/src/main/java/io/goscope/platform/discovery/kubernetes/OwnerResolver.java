package io.goscope.platform.discovery.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.goscope.api.Nullable;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Resolves the owners of a pod from its controller reference and, one level up, from cached ReplicaSets (to find the
 * Deployment) and Jobs (to find the CronJob). Reads caches only; never calls the API server.
 *
 * <p>When a ReplicaSet is not cached (not synced yet, or the agent may not list ReplicaSets), the Deployment name is
 * inferred from the {@code pod-template-hash} label: a Deployment's ReplicaSet is named
 * {@code <deployment>-<pod-template-hash>}. Such an inferred owner has no uid.
 */
final class OwnerResolver {

  static final String POD_TEMPLATE_HASH = "pod-template-hash";

  private final Function<String, ReplicaSet> replicaSetByKey;
  private final Function<String, Job> jobByKey;

  /**
   * @param replicaSetByKey cached ReplicaSet by {@code namespace/name}, returning null when absent
   * @param jobByKey cached Job by {@code namespace/name}, returning null when absent
   */
  OwnerResolver(Function<String, ReplicaSet> replicaSetByKey, Function<String, Job> jobByKey) {
    this.replicaSetByKey = requireNonNull(replicaSetByKey, "replicaSetByKey");
    this.jobByKey = requireNonNull(jobByKey, "jobByKey");
  }

  WorkloadOwners resolve(Pod pod) {
    OwnerReference controller = controllerOf(pod.getMetadata().getOwnerReferences());
    if (controller == null || controller.getName() == null || controller.getKind() == null) {
      return WorkloadOwners.NONE;
    }
    String namespace = pod.getMetadata().getNamespace();
    Map<WorkloadKind, WorkloadOwners.Owner> owners = new EnumMap<>(WorkloadKind.class);
    WorkloadOwners.Owner direct = new WorkloadOwners.Owner(controller.getName(), controller.getUid());
    switch (controller.getKind()) {
      case "ReplicaSet" -> {
        owners.put(WorkloadKind.REPLICA_SET, direct);
        ReplicaSet rs = cached(replicaSetByKey, namespace, controller);
        if (rs != null) {
          parentOf(rs, "Deployment").ifPresent(d -> owners.put(WorkloadKind.DEPLOYMENT, d));
        } else {
          String inferred = deploymentFromHash(controller.getName(), pod.getMetadata().getLabels());
          if (inferred != null) {
            owners.put(WorkloadKind.DEPLOYMENT, new WorkloadOwners.Owner(inferred, null));
          }
        }
      }
      case "StatefulSet" -> owners.put(WorkloadKind.STATEFUL_SET, direct);
      case "DaemonSet" -> owners.put(WorkloadKind.DAEMON_SET, direct);
      case "Job" -> {
        owners.put(WorkloadKind.JOB, direct);
        Job job = cached(jobByKey, namespace, controller);
        if (job != null) {
          parentOf(job, "CronJob").ifPresent(c -> owners.put(WorkloadKind.CRON_JOB, c));
        }
      }
      default -> {
        // Other controllers (ReplicationController, custom resources) contribute no k8s.* owner attributes.
      }
    }
    return new WorkloadOwners(owners);
  }

  /** The reference marked {@code controller: true}, else the only reference, else null. */
  @Nullable
  static OwnerReference controllerOf(@Nullable List<OwnerReference> references) {
    if (references == null || references.isEmpty()) {
      return null;
    }
    for (OwnerReference ref : references) {
      if (Boolean.TRUE.equals(ref.getController())) {
        return ref;
      }
    }
    return references.size() == 1 ? references.get(0) : null;
  }

  /** {@code web} for ReplicaSet {@code web-5d8f7c} with label {@code pod-template-hash=5d8f7c}, else null. */
  @Nullable
  static String deploymentFromHash(String replicaSetName, @Nullable Map<String, String> labels) {
    String hash = labels == null ? null : labels.get(POD_TEMPLATE_HASH);
    if (hash == null || hash.isEmpty()) {
      return null;
    }
    String suffix = "-" + hash;
    if (replicaSetName.length() <= suffix.length() || !replicaSetName.endsWith(suffix)) {
      return null;
    }
    return replicaSetName.substring(0, replicaSetName.length() - suffix.length());
  }

  /**
   * The cached object with the referenced name. Uids are not compared: the name is what identifies it within the
   * namespace at any one time, and a ReplicaSet's name embeds its pod-template hash, so an older object of the same
   * name belonged to the same Deployment.
   */
  @Nullable
  private static <T extends HasMetadata> T cached(
      Function<String, T> byKey, @Nullable String namespace, OwnerReference ref) {
    return namespace == null ? null : byKey.apply(namespace + "/" + ref.getName());
  }

  private static Optional<WorkloadOwners.Owner> parentOf(HasMetadata object, String kind) {
    OwnerReference parent = controllerOf(object.getMetadata().getOwnerReferences());
    if (parent == null || !kind.equals(parent.getKind()) || parent.getName() == null) {
      return Optional.empty();
    }
    return Optional.of(new WorkloadOwners.Owner(parent.getName(), parent.getUid()));
  }
}
