package io.goscope.api;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;

/** What the host gives a {@link DiscoverySource}. Thread-safe. */
public interface DiscoveryContext {

  /** The agent's configuration (environment variables and system properties). */
  ConfigProperties config();

  /** Name of the node the agent runs on ({@code NODE_NAME}), or null outside Kubernetes. */
  @Nullable
  String nodeName();

  /** Tells the host a process started (or exec'd); the host reads its details from /proc and applies the rules. */
  void processStarted(int pid);

  /** Tells the host a process exited; its instrumentation is detached. */
  void processExited(int pid);

  /** Tells the host the workload metadata changed (a pod was updated); the host re-evaluates rules. */
  void metadataChanged();
}
