package io.goscope.platform.agent;

import io.goscope.platform.discovery.ExecutableKey;
import io.goscope.platform.discovery.ProcessSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;

/**
 * The path through which a process's executable is analysed and its uprobes attached. The kernel keys uprobes by
 * inode, so any path works only if it reaches the very inode {@code /proc/<pid>/exe} points at; older kernels do
 * not always resolve overlayfs paths to the real inode, so the path is chosen and verified by device and inode:
 * <ol>
 *   <li>the shared binaries directory (the DaemonSet's hostPath), when the app runs its binary from there;
 *   <li>{@code /proc/<pid>/root/<exe>}: the file in the container's own root;
 *   <li>{@code /proc/<pid>/exe} itself.
 * </ol>
 *
 * <p>The binary is read for analysis through {@code /proc/<pid>/exe}, which works even for deleted files.
 */
final class AttachTarget {
  private AttachTarget() {}

  /**
   * The target for a process, as the life cycle uses it. A uprobe for every process of the binary (per binary) is
   * safe when the attach path is the very file every process of it runs: the shared binaries directory, or a file on
   * a host file system. A container's overlay root is not: its inode differs per container mount while the kernel
   * resolves uprobes to the layer's real inode, so two containers of one image would each fire the other's uprobes.
   */
  static ProcessLifecycle.Target locate(ProcessSnapshot s, Path binariesDir, boolean lingerShared) {
    return locate(s, binariesDir, lingerShared ? 120_000 : 0, 0, null);
  }

  /**
   * @param hostRoot the host's root as the agent reaches it ({@code <host proc>/1/root}), or null: a process that
   *     runs a file of the host's own file system is attached through it, a path that outlives the process
   */
  static ProcessLifecycle.Target locate(ProcessSnapshot s, Path binariesDir, long sharedLingerMillis,
      long hostLingerMillis, Path hostRoot) {
    ExecutableKey key = s.executableKey();
    String exe = s.info().executable();
    if (!s.deleted()) {
      if (exe.startsWith(binariesDir.toString() + "/")) {
        Path shared = Path.of(exe);
        if (sameFile(shared, key)) {
          return new ProcessLifecycle.Target(shared, s.exeLink(), "shared binaries directory " + binariesDir, key,
              true, sharedLingerMillis);
        }
      }
      if (exe.startsWith("/")) {
        // The host's root (an agent in a container with hostPID), then the agent's own view (the agent shares the
        // process's mount namespace): a path that outlives the process.
        for (Path onHost : hostRoot == null ? new Path[] {Path.of(exe)}
            : new Path[] {hostRoot.resolve(exe.substring(1)), Path.of(exe)}) {
          if (sameFile(onHost, key) && !io.goscope.platform.sys.FileSystems.isOverlay(onHost)) {
            return new ProcessLifecycle.Target(onHost, s.exeLink(), "host file system, inode verified", key, true,
                hostLingerMillis);
          }
        }
      }
      if (sameFile(s.exeViaRoot(), key)) {
        boolean overlay = io.goscope.platform.sys.FileSystems.isOverlay(s.exeViaRoot());
        return new ProcessLifecycle.Target(s.exeViaRoot(), s.exeLink(),
            overlay ? "process root (overlay), inode verified" : "process root, inode verified", key, !overlay, 0);
      }
    }
    return new ProcessLifecycle.Target(s.exeLink(), s.exeLink(),
        s.deleted() ? "exe link (binary deleted on disk)" : "exe link (no other path with the same inode)", key,
        false, 0);
  }


  private static boolean sameFile(Path p, ExecutableKey key) {
    try {
      Map<String, Object> a = Files.readAttributes(p, "unix:dev,ino", LinkOption.NOFOLLOW_LINKS);
      return ((Number) a.get("dev")).longValue() == key.device() && ((Number) a.get("ino")).longValue() == key.inode();
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }
}
