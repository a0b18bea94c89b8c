package io.goscope.platform.rules;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import java.util.List;
import java.util.Optional;

/**
 * An immutable set of selection rules. A process is selected when it is not excluded by the built-in
 * {@link RuleDefaults}, no exclude rule matches it, and some include rule matches it; the first matching include
 * rule (rule files in name order, rules in file order, then {@code GO_APPS}) supplies the options. With no include
 * rule nothing is selected.
 */
public final class RuleSet {
  private final List<Rule> includes;
  private final List<Rule> excludes;
  private final RuleDefaults defaults;

  public RuleSet(List<Rule> includes, List<Rule> excludes, RuleDefaults defaults) {
    this.includes = List.copyOf(includes);
    this.excludes = List.copyOf(excludes);
    this.defaults = requireNonNull(defaults, "defaults");
  }

  /** A set with no rules: selects nothing. */
  public static RuleSet empty(RuleDefaults defaults) {
    return new RuleSet(List.of(), List.of(), defaults);
  }

  /** The include rules, in precedence order. */
  public List<Rule> includes() {
    return includes;
  }

  /** The exclude rules. */
  public List<Rule> excludes() {
    return excludes;
  }

  /** The built-in exclusions. */
  public RuleDefaults defaults() {
    return defaults;
  }

  /** The selection for a process, or empty when it is not to be instrumented. */
  public Optional<Selection> select(ProcessInfo process, Optional<WorkloadMetadata> workload) {
    Verdict verdict = explain(process, workload);
    return verdict.selected() ? Optional.of(new Selection(verdict.ruleName(), verdict.options()))
        : Optional.empty();
  }

  /**
   * Why a process is or is not selected, for logs and the inspection command.
   *
   * @param selected whether it is selected
   * @param ruleName the deciding rule (include or exclude), or null when no include rule matched
   * @param options the include rule's options, or {@link RuleOptions#DEFAULT}
   */
  public record Verdict(boolean selected, @Nullable String ruleName, RuleOptions options) {}

  /** The verdict for a process, naming the deciding rule. */
  public Verdict explain(ProcessInfo process, Optional<WorkloadMetadata> workload) {
    requireNonNull(process, "process");
    requireNonNull(workload, "workload");
    if (defaults.isSelf().test(process)) {
      return new Verdict(false, RuleDefaults.SELF_RULE, RuleOptions.DEFAULT);
    }
    if (defaults.excludeKubeSystem()
        && workload.map(w -> "kube-system".equals(w.namespace())).orElse(false)) {
      return new Verdict(false, RuleDefaults.KUBE_SYSTEM_RULE, RuleOptions.DEFAULT);
    }
    for (Rule exclude : excludes) {
      if (exclude.match().matches(process, workload)) {
        return new Verdict(false, exclude.name(), RuleOptions.DEFAULT);
      }
    }
    for (Rule include : includes) {
      if (include.match().matches(process, workload)) {
        return new Verdict(true, include.name(), include.options());
      }
    }
    return new Verdict(false, null, RuleOptions.DEFAULT);
  }

  /** Whether any rule needs workload metadata (so the caller knows whether to wait for it). */
  public boolean needsWorkload() {
    return defaults.excludeKubeSystem()
        || includes.stream().anyMatch(r -> r.match().needsWorkload())
        || excludes.stream().anyMatch(r -> r.match().needsWorkload());
  }

  @Override
  public String toString() {
    return "RuleSet{includes=" + includes.stream().map(Rule::name).toList()
        + ", excludes=" + excludes.stream().map(Rule::name).toList() + "}";
  }
}
