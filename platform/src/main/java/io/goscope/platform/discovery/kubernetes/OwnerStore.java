package io.goscope.platform.discovery.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import java.util.function.Supplier;

/**
 * The cache behind the cluster-wide ReplicaSet and Job informers: it keeps only what owner resolution reads (name,
 * namespace, uid, resource version and owner references) and drops the rest, above all the pod template. A
 * Deployment's ReplicaSet carries its whole pod template, and a cluster keeps up to ten old ReplicaSets per
 * Deployment, so the full objects would make the agent's heap grow with the cluster rather than with the node.
 * Event handlers still receive the full object the API server sent; only what the informer keeps is trimmed.
 */
final class OwnerStore<T extends HasMetadata> extends BasicItemStore<T> {
  private final Supplier<T> empty;

  /** @param empty a new, empty object of the owner's kind, e.g. {@code ReplicaSet::new} */
  OwnerStore(Supplier<T> empty) {
    super(Cache::metaNamespaceKeyFunc);
    this.empty = requireNonNull(empty, "empty");
  }

  @Override
  public T put(String key, T obj) {
    return super.put(key, obj == null ? null : trim(obj));
  }

  /** A copy of {@code full} with the fields owner resolution reads. */
  T trim(T full) {
    T t = empty.get();
    t.setApiVersion(full.getApiVersion());
    ObjectMeta m = full.getMetadata();
    if (m != null) {
      ObjectMeta kept = new ObjectMeta();
      kept.setName(m.getName());
      kept.setNamespace(m.getNamespace());
      kept.setUid(m.getUid());
      kept.setResourceVersion(m.getResourceVersion());
      kept.setOwnerReferences(m.getOwnerReferences());
      kept.setDeletionTimestamp(m.getDeletionTimestamp());
      t.setMetadata(kept);
    }
    return t;
  }
}
