package io.goscope.api;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.common.Attributes;
import java.util.Map;

/**
 * What a discovery source knows about the workload a process belongs to (a Kubernetes pod, for example). Used for
 * selection rules and as resource attributes.
 *
 * @param namespace Kubernetes namespace, or null
 * @param podName pod name, or null
 * @param containerName container name, or null
 * @param labels pod labels
 * @param annotations pod annotations
 * @param ownerKind top-level owner kind ({@code Deployment}, {@code StatefulSet}, ...), or null
 * @param ownerName top-level owner name, or null
 * @param resource resource attributes to attach to this process's telemetry ({@code k8s.*}, {@code container.id},
 *     and {@code service.name} when the source derived one)
 */
public record WorkloadMetadata(
    @Nullable String namespace,
    @Nullable String podName,
    @Nullable String containerName,
    Map<String, String> labels,
    Map<String, String> annotations,
    @Nullable String ownerKind,
    @Nullable String ownerName,
    Attributes resource) {
  public WorkloadMetadata {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    requireNonNull(resource, "resource");
  }
}
