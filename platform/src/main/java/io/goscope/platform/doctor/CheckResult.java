package io.goscope.platform.doctor;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;

/**
 * One line of the doctor's table.
 *
 * @param name what was checked, e.g. {@code capability CAP_BPF}
 * @param status pass, warn or fail
 * @param detail what was found
 * @param fix how to fix a warning or failure; null when it passed
 * @param required whether the agent refuses to start when this check fails
 */
public record CheckResult(String name, Status status, String detail, @Nullable String fix, boolean required) {
  /** The outcome of a check. */
  public enum Status { PASS, WARN, FAIL }

  public CheckResult {
    requireNonNull(name, "name");
    requireNonNull(status, "status");
    requireNonNull(detail, "detail");
  }

  static CheckResult pass(String name, String detail, boolean required) {
    return new CheckResult(name, Status.PASS, detail, null, required);
  }

  static CheckResult warn(String name, String detail, String fix) {
    return new CheckResult(name, Status.WARN, detail, fix, false);
  }

  static CheckResult fail(String name, String detail, String fix, boolean required) {
    return new CheckResult(name, Status.FAIL, detail, fix, required);
  }
}
