package io.goscope.platform.admin;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Named liveness and readiness checks. A check returns empty when it passes, else why not. Liveness
 * ({@code /healthz}): the threads that must keep running are running (ring-buffer reader, discovery loop, export
 * workers). Readiness ({@code /readyz}): the agent can do its work (plugins loaded, BPF usable, informers synced).
 */
public final class Health {
  /** One check's outcome. */
  public record Result(String name, boolean ok, String detail) {}

  private final Map<String, Supplier<Optional<String>>> liveness = new LinkedHashMap<>();
  private final Map<String, Supplier<Optional<String>>> readiness = new LinkedHashMap<>();

  /** Adds (or replaces) a liveness check. */
  public synchronized void liveness(String name, Supplier<Optional<String>> check) {
    liveness.put(requireNonNull(name, "name"), requireNonNull(check, "check"));
  }

  /** Adds (or replaces) a readiness check. */
  public synchronized void readiness(String name, Supplier<Optional<String>> check) {
    readiness.put(requireNonNull(name, "name"), requireNonNull(check, "check"));
  }

  /** A liveness check on a loop's {@link Heartbeat}: failing once it has not beaten for {@code maxAgeNanos}. */
  public void liveness(String name, Heartbeat heartbeat) {
    liveness(name, heartbeat::problem);
  }

  public List<Result> live() {
    return run(snapshot(liveness));
  }

  public List<Result> ready() {
    return run(snapshot(readiness));
  }

  private synchronized Map<String, Supplier<Optional<String>>> snapshot(Map<String, Supplier<Optional<String>>> m) {
    return new LinkedHashMap<>(m);
  }

  private static List<Result> run(Map<String, Supplier<Optional<String>>> checks) {
    List<Result> out = new ArrayList<>(checks.size());
    checks.forEach((name, check) -> {
      Optional<String> problem;
      try {
        problem = check.get();
      } catch (RuntimeException e) {
        problem = Optional.of("check failed: " + e);
      }
      out.add(new Result(name, problem.isEmpty(), problem.orElse("ok")));
    });
    return out;
  }

  /** Whether every result passed. */
  public static boolean allOk(List<Result> results) {
    return results.stream().allMatch(Result::ok);
  }
}
