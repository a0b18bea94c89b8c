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
 * @param attachPath where uprobes are attached
 * @param readPath where the binary is read for analysis ({@code /proc/<pid>/exe}: works even for deleted files)
 * @param reason which rule chose the attach path, for the log
 */
public record AttachTarget(Path attachPath, Path readPath, String reason) {

  static AttachTarget locate(ProcessSnapshot s, Path binariesDir) {
    ExecutableKey key = s.executableKey();
    String exe = s.info().executable();
    if (!s.deleted()) {
      if (exe.startsWith(binariesDir.toString() + "/")) {
        Path shared = Path.of(exe);
        if (sameFile(shared, key)) {
          return new AttachTarget(shared, s.exeLink(), "shared binaries directory " + binariesDir);
        }
      }
      if (sameFile(s.exeViaRoot(), key)) {
        return new AttachTarget(s.exeViaRoot(), s.exeLink(), "process root, inode verified");
      }
    }
    return new AttachTarget(s.exeLink(), s.exeLink(),
        s.deleted() ? "exe link (binary deleted on disk)" : "exe link (no other path with the same inode)");
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
