package io.goscope.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.goscope.platform.sys.BpfFeatures;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Tier-2 test guards: skip a test with the reason when BPF (or a build tool) is unavailable, but fail instead when
 * the environment variable {@code CI=true}, where a missing capability is a broken CI machine.
 */
public final class BpfAssumptions {
  private BpfAssumptions() {}

  /** Whether this run is under CI ({@code CI=true}). */
  public static boolean isCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** Skips (or under CI fails) unless this process can load and attach BPF programs. */
  public static void assumeBpf() {
    Optional<String> reason = BpfFeatures.unavailableReason();
    reason.ifPresent(r -> skipOrFail("BPF unavailable: " + r));
  }

  /** Skips (or under CI fails) unless {@code command --version}-style probing of a tool succeeds. */
  public static void assumeCommand(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        skipOrFail("tool unavailable: " + String.join(" ", command) + " failed");
      }
    } catch (IOException e) {
      skipOrFail("tool unavailable: " + String.join(" ", command) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      skipOrFail("interrupted while probing " + command[0]);
    }
  }

  /** Skips with {@code reason}, or fails with it under CI. */
  public static void skipOrFail(String reason) {
    if (isCi()) {
      fail(reason + " (CI=true: failing instead of skipping)");
    }
    Assumptions.abort(reason);
  }
}
