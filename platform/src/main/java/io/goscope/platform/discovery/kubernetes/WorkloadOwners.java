package io.goscope.platform.discovery.kubernetes;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The chain of workloads that own a pod, e.g. ReplicaSet {@code web-5d8f} and its Deployment {@code web}.
 *
 * @param owners owner per kind; iteration follows {@link WorkloadKind} order
 */
record WorkloadOwners(Map<WorkloadKind, Owner> owners) {

  /** A pod without owners. */
  static final WorkloadOwners NONE = new WorkloadOwners(Map.of());

  /**
   * One owning object.
   *
   * @param name object name
   * @param uid object uid, or null when it was inferred (e.g. a Deployment name from a ReplicaSet name)
   */
  record Owner(String name, @Nullable String uid) {
    Owner {
      requireNonNull(name, "name");
    }
  }

  WorkloadOwners {
    EnumMap<WorkloadKind, Owner> copy = new EnumMap<>(WorkloadKind.class);
    copy.putAll(owners);
    owners = Collections.unmodifiableMap(copy);
  }

  /** The owner of that kind, if any. */
  Optional<Owner> get(WorkloadKind kind) {
    return Optional.ofNullable(owners.get(kind));
  }

  /** The outermost owner (Deployment before its ReplicaSet, CronJob before its Job), if any. */
  Optional<Map.Entry<WorkloadKind, Owner>> topLevel() {
    return owners.entrySet().stream().findFirst();
  }
}
