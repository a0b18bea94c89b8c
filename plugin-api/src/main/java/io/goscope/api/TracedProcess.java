package io.goscope.api;

import java.util.Optional;

/**
 * What a decoder may ask about the process a record came from, beyond its telemetry resource.
 */
@Unstable
public interface TracedProcess {
  /** A process the host knows nothing more about (tests, records of processes already gone). */
  TracedProcess UNKNOWN = new TracedProcess() {
    @Override
    public int pid() {
      return -1;
    }

    @Override
    public String option(String key, String defaultValue) {
      return defaultValue;
    }

    @Override
    public Optional<String> goTypeName(long typeAddress) {
      return Optional.empty();
    }
  };

  /** The process id in the host's pid namespace. */
  int pid();

  /**
   * A probe option the rule that selected this process sets (the rule's {@code options.probeOptions}, e.g.
   * {@code db.query.text: off}), or {@code defaultValue}.
   */
  String option(String key, String defaultValue);

  /**
   * The name of the Go type whose runtime type descriptor is at {@code typeAddress} in the process (as a probe reads
   * it from an interface's itab or type word), e.g. {@code *net.OpError}; empty when it cannot be told.
   */
  Optional<String> goTypeName(long typeAddress);
}
