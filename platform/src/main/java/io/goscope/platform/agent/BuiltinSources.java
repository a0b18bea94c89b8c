package io.goscope.platform.agent;

import io.goscope.api.DiscoverySource;
import io.goscope.platform.discovery.kubernetes.KubernetesMetadata;
import java.util.ArrayList;
import java.util.List;

/**
 * The discovery sources built into the platform. Processes come from the agent's own /proc poll (and exec/exit
 * events); {@code kubernetes} adds pod metadata and runs in node mode (describing nothing) outside a cluster.
 */
final class BuiltinSources {
  private BuiltinSources() {}

  static List<DiscoverySource> create(AgentConfig config) {
    List<DiscoverySource> sources = new ArrayList<>();
    if (!config.pluginsDisabled().contains(KubernetesMetadata.NAME)) {
      sources.add(new KubernetesMetadata());
    }
    return sources;
  }
}
