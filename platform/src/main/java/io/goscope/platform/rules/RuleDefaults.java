package io.goscope.platform.rules;

import static java.util.Objects.requireNonNull;

import io.goscope.api.ProcessInfo;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Built-in exclusions applied before any configured rule.
 *
 * <ul>
 *   <li>Goscope itself ({@code isSelf}) is always excluded; this cannot be switched off.
 *   <li>Namespace {@code kube-system} is excluded unless {@value #EXCLUDE_KUBE_SYSTEM_ENV}{@code =false}.
 * </ul>
 *
 * @param isSelf recognises the agent's own process(es), e.g. by pid or by executable
 * @param excludeKubeSystem whether processes in namespace {@code kube-system} are excluded
 */
public record RuleDefaults(Predicate<ProcessInfo> isSelf, boolean excludeKubeSystem) {
  /** Set to {@code false} to allow selecting processes in {@code kube-system}. */
  public static final String EXCLUDE_KUBE_SYSTEM_ENV = "GOSCOPE_EXCLUDE_KUBE_SYSTEM";
  /** Name reported for the built-in kube-system exclusion. */
  public static final String KUBE_SYSTEM_RULE = "builtin:exclude-kube-system";
  /** Name reported for the built-in self exclusion. */
  public static final String SELF_RULE = "builtin:exclude-self";

  public RuleDefaults {
    requireNonNull(isSelf, "isSelf");
  }

  /** Defaults from the environment, with the given self predicate. */
  public static RuleDefaults fromEnv(Map<String, String> env, Predicate<ProcessInfo> isSelf) {
    String value = env.getOrDefault(EXCLUDE_KUBE_SYSTEM_ENV, "true").trim();
    return new RuleDefaults(isSelf, !"false".equalsIgnoreCase(value));
  }

  /** Excludes the process with the given host pid (the agent's own) and nothing else by default. */
  public static RuleDefaults excludingPid(long selfPid) {
    return new RuleDefaults(p -> p.pid() == selfPid, true);
  }
}
