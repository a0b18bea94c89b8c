package io.goscope.platform.discovery.kubernetes;

import static java.util.Objects.requireNonNull;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.EphemeralContainer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.goscope.api.Nullable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One container of a pod as the kubelet reports it: regular, init or ephemeral.
 *
 * @param name container name from the pod spec
 * @param id runtime container id without the {@code <runtime>://} scheme, or null before the container started
 * @param image image reference from the pod spec (or from the status when the spec has none), or null
 */
record PodContainer(String name, @Nullable String id, @Nullable String image) {

  PodContainer {
    requireNonNull(name, "name");
  }

  /**
   * The container id without its runtime scheme, lower-cased: {@code containerd://abc}, {@code cri-o://abc} and
   * {@code docker://abc} all give {@code abc}. Returns null for null or blank input.
   */
  @Nullable
  static String normalizeId(@Nullable String containerId) {
    if (containerId == null) {
      return null;
    }
    String id = containerId.trim();
    int scheme = id.indexOf("://");
    if (scheme >= 0) {
      id = id.substring(scheme + 3);
    }
    return id.isEmpty() ? null : id.toLowerCase(Locale.ROOT);
  }

  /** Every container of the pod with a status, in spec order: init, regular, ephemeral. */
  static List<PodContainer> of(Pod pod) {
    PodSpec spec = pod.getSpec();
    PodStatus status = pod.getStatus();
    Map<String, String> images = new HashMap<>();
    if (spec != null) {
      for (Container c : nonNull(spec.getInitContainers())) {
        images.put(c.getName(), c.getImage());
      }
      for (Container c : nonNull(spec.getContainers())) {
        images.put(c.getName(), c.getImage());
      }
      for (EphemeralContainer c : nonNull(spec.getEphemeralContainers())) {
        images.put(c.getName(), c.getImage());
      }
    }
    List<PodContainer> containers = new ArrayList<>();
    if (status != null) {
      addAll(containers, status.getInitContainerStatuses(), images);
      addAll(containers, status.getContainerStatuses(), images);
      addAll(containers, status.getEphemeralContainerStatuses(), images);
    }
    return containers;
  }

  /** Container names from the pod spec (regular containers only). */
  static List<String> specContainerNames(Pod pod) {
    PodSpec spec = pod.getSpec();
    if (spec == null) {
      return List.of();
    }
    return nonNull(spec.getContainers()).stream().map(Container::getName).toList();
  }

  /** Image reference of the named container from the pod spec, or null. */
  @Nullable
  static String specImage(Pod pod, String containerName) {
    PodSpec spec = pod.getSpec();
    if (spec == null) {
      return null;
    }
    for (Container c : nonNull(spec.getContainers())) {
      if (containerName.equals(c.getName())) {
        return c.getImage();
      }
    }
    for (Container c : nonNull(spec.getInitContainers())) {
      if (containerName.equals(c.getName())) {
        return c.getImage();
      }
    }
    for (EphemeralContainer c : nonNull(spec.getEphemeralContainers())) {
      if (containerName.equals(c.getName())) {
        return c.getImage();
      }
    }
    return null;
  }

  private static void addAll(
      List<PodContainer> out, @Nullable List<ContainerStatus> statuses, Map<String, String> images) {
    for (ContainerStatus s : nonNull(statuses)) {
      if (s.getName() == null) {
        continue;
      }
      String image = images.get(s.getName());
      out.add(new PodContainer(s.getName(), normalizeId(s.getContainerID()), image != null ? image : s.getImage()));
    }
  }

  private static <T> List<T> nonNull(@Nullable List<T> list) {
    return list == null ? List.of() : list;
  }
}
