package io.goscope.platform.rules;

import io.goscope.api.Nullable;
import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The conditions of one rule, all AND-ed; absent (null or empty) conditions are not checked, so an empty match
 * matches every process. Workload conditions ({@code container}, {@code namespace}, {@code pod}, {@code labels},
 * {@code annotations}, {@code owner}) never match a process without workload metadata.
 *
 * @param executable glob on the executable's file name
 * @param executablePath glob on the executable's path inside the process's mount namespace
 * @param cmdline regex searched ({@code find}) in the space-joined argv
 * @param env environment variables that must equal the value, or merely be present when the value is {@code *}
 * @param container container name glob
 * @param namespace Kubernetes namespace glob
 * @param pod pod name glob
 * @param labels pod labels that must equal the value (or be present, for {@code *})
 * @param annotations pod annotations, like labels
 * @param ownerKind top-level owner kind glob
 * @param ownerName top-level owner name glob
 */
public record Match(
    @Nullable Glob executable,
    @Nullable Glob executablePath,
    @Nullable Pattern cmdline,
    Map<String, String> env,
    @Nullable Glob container,
    @Nullable Glob namespace,
    @Nullable Glob pod,
    Map<String, String> labels,
    Map<String, String> annotations,
    @Nullable Glob ownerKind,
    @Nullable Glob ownerName) {

  /** Matches every process. */
  public static final Match ANY = new Match(null, null, null, Map.of(), null, null, null, Map.of(), Map.of(),
      null, null);

  public Match {
    env = Map.copyOf(env);
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
  }

  /** A match on the executable's file name only. */
  public static Match executableName(String glob) {
    return new Match(Glob.compile(glob), null, null, Map.of(), null, null, null, Map.of(), Map.of(), null, null);
  }

  /** A match on the Kubernetes namespace only. */
  public static Match namespace(String glob) {
    return new Match(null, null, null, Map.of(), null, Glob.compile(glob), null, Map.of(), Map.of(), null, null);
  }

  /** Whether the process (with its workload, when known) meets every condition. */
  public boolean matches(ProcessInfo process, Optional<WorkloadMetadata> workload) {
    if (executable != null && !executable.matches(process.executableName())) {
      return false;
    }
    if (executablePath != null && !executablePath.matches(process.executablePath())) {
      return false;
    }
    if (cmdline != null && !cmdline.matcher(String.join(" ", process.cmdline())).find()) {
      return false;
    }
    if (!entriesMatch(env, process.environment())) {
      return false;
    }
    if (!needsWorkload()) {
      return true;
    }
    if (workload.isEmpty()) {
      return false;
    }
    WorkloadMetadata w = workload.get();
    return globMatches(container, w.containerName())
        && globMatches(namespace, w.namespace())
        && globMatches(pod, w.podName())
        && entriesMatch(labels, w.labels())
        && entriesMatch(annotations, w.annotations())
        && globMatches(ownerKind, w.ownerKind())
        && globMatches(ownerName, w.ownerName());
  }

  /** Whether any condition needs workload metadata. */
  public boolean needsWorkload() {
    return container != null || namespace != null || pod != null || !labels.isEmpty() || !annotations.isEmpty()
        || ownerKind != null || ownerName != null;
  }

  private static boolean globMatches(@Nullable Glob glob, @Nullable String value) {
    return glob == null || value != null && glob.matches(value);
  }

  private static boolean entriesMatch(Map<String, String> wanted, Map<String, String> actual) {
    for (Map.Entry<String, String> e : wanted.entrySet()) {
      String value = actual.get(e.getKey());
      if (value == null || !"*".equals(e.getValue()) && !e.getValue().equals(value)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Match m
        && java.util.Objects.equals(executable, m.executable)
        && java.util.Objects.equals(executablePath, m.executablePath)
        && java.util.Objects.equals(cmdline == null ? null : cmdline.pattern(),
            m.cmdline == null ? null : m.cmdline.pattern())
        && env.equals(m.env)
        && java.util.Objects.equals(container, m.container)
        && java.util.Objects.equals(namespace, m.namespace)
        && java.util.Objects.equals(pod, m.pod)
        && labels.equals(m.labels)
        && annotations.equals(m.annotations)
        && java.util.Objects.equals(ownerKind, m.ownerKind)
        && java.util.Objects.equals(ownerName, m.ownerName);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(executable, executablePath, cmdline == null ? null : cmdline.pattern(), env,
        container, namespace, pod, labels, annotations, ownerKind, ownerName);
  }
}
