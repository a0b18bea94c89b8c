package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A {@code const volatile} BPF global whose value depends on the version of a Go module rather than on a struct
 * layout: which register holds an argument, whether a field exists, a function's calling convention. The host picks
 * the value of the last step whose version is not above the binary's version of {@link #module()}; below the first
 * step the constant is unresolved and the probes that require it are skipped.
 *
 * @param constant name of the {@code const volatile} global
 * @param module {@code std} for the Go toolchain, otherwise a module path such as {@code google.golang.org/grpc}
 * @param steps ascending by version: from each step's version on, the constant takes its value
 */
public record VersionedConstant(String constant, String module, List<Step> steps) {
  /** From {@code version} on (e.g. {@code 1.21} or {@code v1.60.0}), the value is {@code value}. */
  public record Step(String version, long value) {
    public Step {
      requireNonNull(version, "version");
    }
  }

  public VersionedConstant {
    requireNonNull(constant, "constant");
    requireNonNull(module, "module");
    steps = List.copyOf(steps);
    if (steps.isEmpty()) {
      throw new IllegalArgumentException("versioned constant " + constant + " has no steps");
    }
  }

  /** A constant of the standard library's version with the given steps: version, value, version, value, ... */
  public static VersionedConstant std(String constant, Object... versionValuePairs) {
    return of(constant, "std", versionValuePairs);
  }

  /** A constant of {@code module}'s version with steps given as version, value, version, value, ... */
  public static VersionedConstant of(String constant, String module, Object... versionValuePairs) {
    if (versionValuePairs.length % 2 != 0) {
      throw new IllegalArgumentException("versioned constant " + constant + ": pairs of version and value expected");
    }
    Step[] steps = new Step[versionValuePairs.length / 2];
    for (int i = 0; i < steps.length; i++) {
      steps[i] = new Step((String) versionValuePairs[2 * i], ((Number) versionValuePairs[2 * i + 1]).longValue());
    }
    return new VersionedConstant(constant, module, List.of(steps));
  }
}
