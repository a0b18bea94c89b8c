package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * A process as discovery sees it, read from the host's {@code /proc}.
 *
 * @param pid process id in the host (agent's) pid namespace
 * @param namespacePids the {@code NSpid} line: the pid in each nested pid namespace, outermost first
 * @param executable the executable's path inside the process's own mount namespace ({@code /proc/<pid>/exe})
 * @param cmdline argv
 * @param environment the process's initial environment
 * @param startTimeTicks start time in clock ticks after boot ({@code /proc/<pid>/stat} field 22); with the pid it
 *     identifies one process incarnation
 * @param containerId container id from the cgroup path, or null outside a container
 * @param podUid Kubernetes pod UID from the cgroup path, or null
 */
public record ProcessInfo(
    int pid,
    List<Integer> namespacePids,
    String executable,
    List<String> cmdline,
    Map<String, String> environment,
    long startTimeTicks,
    @Nullable String containerId,
    @Nullable String podUid) {
  public ProcessInfo {
    requireNonNull(executable, "executable");
    namespacePids = List.copyOf(namespacePids);
    cmdline = List.copyOf(cmdline);
    environment = Map.copyOf(environment);
  }

  /** The executable's file name, e.g. {@code server} for {@code /app/bin/server}. */
  public String executableName() {
    int slash = executable.lastIndexOf('/');
    String name = slash < 0 ? executable : executable.substring(slash + 1);
    return name.endsWith(" (deleted)") ? name.substring(0, name.length() - " (deleted)".length()) : name;
  }
}
