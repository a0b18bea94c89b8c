package io.goscope.api;

import java.util.Optional;
import org.pf4j.ExtensionPoint;

/**
 * A source of processes or of workload metadata. The built-in sources are {@code proc} (processes from the host's
 * /proc) and {@code kubernetes} (pod metadata from the API server); a source may play either role or both.
 */
public interface DiscoverySource extends ExtensionPoint {

  /** Name used in configuration and logs. */
  String name();

  /** Starts the source; it reports through the context from its own threads. Must not block for long. */
  void start(DiscoveryContext context);

  /** Metadata for a process, or empty when this source knows nothing about it. Must be fast and non-blocking. */
  default Optional<WorkloadMetadata> describe(ProcessInfo process) {
    return Optional.empty();
  }

  /** Stops the source and releases its resources. Idempotent. */
  void close();
}
