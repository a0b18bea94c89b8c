package io.goscope.e2e.chart;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The documents of one {@code helm template} run, as fabric8 objects, with look-ups the tests share. */
public record Rendered(String manifest, List<HasMetadata> objects) {

  static Rendered parse(String manifest) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : manifest.split("(?m)^---\\s*$")) {
      if (doc.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
        continue; // only "# Source:" comments: a template that rendered nothing
      }
      objects.add(HelmChart.parseDocument(doc));
    }
    return new Rendered(manifest, List.copyOf(objects));
  }

  /** Kinds and names, e.g. {@code DaemonSet/goscope}, in manifest order. */
  public List<String> kindsAndNames() {
    return objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList();
  }

  public <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** The one object of {@code type}; fails when there are none or several. */
  public <T extends HasMetadata> T one(Class<T> type) {
    List<T> found = all(type);
    if (found.size() != 1) {
      throw new AssertionError("expected one " + type.getSimpleName() + ", found " + found.size() + ": "
          + kindsAndNames());
    }
    return found.get(0);
  }

  /** The custom resource of this kind (ServiceMonitor, PrometheusRule), if rendered. */
  public Optional<GenericKubernetesResource> custom(String kind) {
    return all(GenericKubernetesResource.class).stream().filter(r -> r.getKind().equals(kind)).findFirst();
  }

  public Optional<ConfigMap> configMap(String name) {
    return all(ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals(name)).findFirst();
  }

  public DaemonSet daemonSet() {
    return one(DaemonSet.class);
  }

  public PodSpec podSpec() {
    return daemonSet().getSpec().getTemplate().getSpec();
  }

  /** The container called {@code agent}. */
  public Container agent() {
    return podSpec().getContainers().stream().filter(c -> c.getName().equals("agent")).findFirst()
        .orElseThrow(() -> new AssertionError("no agent container"));
  }

  /** The agent's environment: name to variable, in order. */
  public Map<String, EnvVar> agentEnv() {
    Map<String, EnvVar> env = new LinkedHashMap<>();
    for (EnvVar v : agent().getEnv()) {
      if (env.put(v.getName(), v) != null) {
        throw new AssertionError("environment variable set twice: " + v.getName());
      }
    }
    return env;
  }

  /** The value of a plain ({@code value:}) variable of the agent, or null when unset. */
  public String agentEnvValue(String name) {
    EnvVar v = agentEnv().get(name);
    return v == null ? null : v.getValue();
  }

  /** The agent's mount at {@code mountPath}. */
  public VolumeMount agentMount(String mountPath) {
    return agent().getVolumeMounts().stream().filter(m -> m.getMountPath().equals(mountPath)).findFirst()
        .orElseThrow(() -> new AssertionError("agent has no mount at " + mountPath + ": "
            + agent().getVolumeMounts().stream().map(VolumeMount::getMountPath).toList()));
  }

  /** The pod's volume called {@code name}. */
  public Volume volume(String name) {
    return podSpec().getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name));
  }

  /** The volume mounted at {@code mountPath} in the agent container. */
  public Volume agentVolumeAt(String mountPath) {
    return volume(agentMount(mountPath).getName());
  }
}
