package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * No candidate address held a module data that satisfied the invariants: the message and {@link #candidates()}
 * say, for each place looked at, which invariant failed and what was found there instead.
 */
public final class ModuleDataNotFoundException extends GoBinaryFormatException {
  private static final long serialVersionUID = 1L;

  /** One place where the module data could have been, how it was found, and what each invariant check said. */
  public record Candidate(long address, String foundBy, List<ModuleData.Check> checks) {
    public Candidate {
      requireNonNull(foundBy, "foundBy");
      checks = List.copyOf(checks);
    }

    /** The first check that failed, if any. */
    public ModuleData.Check failed() {
      return checks.stream().filter(c -> !c.held()).findFirst().orElse(null);
    }
  }

  private final transient List<Candidate> candidates;

  ModuleDataNotFoundException(String file, String problem, List<Candidate> candidates) {
    super(file, problem);
    this.candidates = List.copyOf(candidates);
  }

  /** The places looked at, in the order tried. */
  public List<Candidate> candidates() {
    return candidates;
  }
}
