package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * A process as discovery sees it, read from the host's {@code /proc}.
 *
 * @param pid process id in the host (agent's) pid namespace
 * @param namespacePids the {@code NSpid} line: the pid in each nested pid namespace, outermost first
 * @param executable the executable's path inside the process's own mount namespace, as the {@code /proc/<pid>/exe}
 *     link reads: ending in {@code " (deleted)"} when the file was deleted or replaced since the process started
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
  private static final String DELETED = " (deleted)";

  public ProcessInfo {
    requireNonNull(executable, "executable");
    namespacePids = List.copyOf(namespacePids);
    cmdline = List.copyOf(cmdline);
    environment = Map.copyOf(environment);
  }

  /**
   * The executable's path without the kernel's {@code " (deleted)"} mark: the path the process was started from,
   * e.g. {@code /app/bin/server}, as Go's {@code os.Executable} reports it.
   */
  public String executablePath() {
    return executable.endsWith(DELETED) ? executable.substring(0, executable.length() - DELETED.length()) : executable;
  }

  /** The executable's file name, e.g. {@code server} for {@code /app/bin/server}. */
  public String executableName() {
    String path = executablePath();
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
