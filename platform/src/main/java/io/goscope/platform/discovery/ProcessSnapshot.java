package io.goscope.platform.discovery;

import static java.util.Objects.requireNonNull;

import io.goscope.api.ProcessInfo;
import java.nio.file.Path;

/**
 * A process as read from {@code /proc} at one moment, with the details the host needs to open its executable.
 *
 * @param info the plugin-facing view
 * @param executableKey device, inode and mtime of the executable
 * @param exeViaRoot the executable reached through the process's root, {@code <proc>/<pid>/root/<exe>}: a real path
 *     on the process's file system, usable for uprobe attachment; unusable when the file was deleted
 * @param exeLink the {@code <proc>/<pid>/exe} link, which opens the executable even when it was deleted or replaced
 * @param deleted whether the kernel reports the executable as deleted
 */
public record ProcessSnapshot(
    ProcessInfo info, ExecutableKey executableKey, Path exeViaRoot, Path exeLink, boolean deleted) {
  public ProcessSnapshot {
    requireNonNull(info, "info");
    requireNonNull(executableKey, "executableKey");
    requireNonNull(exeViaRoot, "exeViaRoot");
    requireNonNull(exeLink, "exeLink");
  }

  /** Host pid. */
  public int pid() {
    return info.pid();
  }
}
