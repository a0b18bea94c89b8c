package io.goscope.api;

/**
 * What the host does when a probe cannot be resolved in a binary (a missing symbol or struct field).
 *
 * <p>One unresolved probe never takes the other probes of the same process with it, except under {@link #ERROR}.
 */
public enum FailureMode {
  /** Skip the probe; log at DEBUG. For optional probes that many binaries legitimately lack. */
  IGNORE,
  /** Skip the probe; log once at WARN with the reason. The other probes of the set still attach. */
  WARN,
  /** The whole probe set is not attached to that process; log at ERROR with the reason. */
  ERROR
}
