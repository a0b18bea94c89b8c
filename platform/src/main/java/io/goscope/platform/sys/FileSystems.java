package io.goscope.platform.sys;

import java.nio.file.Path;
import java.util.OptionalLong;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * What kind of file system a file lives on, asked of the kernel ({@code statfs(2)}): unlike Java's FileStore, which
 * matches path prefixes against this process's mount table, it follows {@code /proc/<pid>/root} into the other
 * process's mount namespace and answers for the file itself.
 */
public final class FileSystems {
  /** {@code OVERLAYFS_SUPER_MAGIC}: a container's root. */
  public static final long OVERLAYFS_MAGIC = 0x794c7630L;

  /** {@code CGROUP2_SUPER_MAGIC}: the cgroup v2 hierarchy. */
  public static final long CGROUP2_MAGIC = 0x63677270L;

  private FileSystems() {}

  /** The file system's magic number ({@code f_type}, the first field of struct statfs), or empty if unreadable. */
  public static OptionalLong magic(Path path) {
    Pointer buf = Memory.allocateDirect(Libc.runtime(), 256, true);
    int rc = Libc.lib().statfs(path.toString(), buf);
    if (rc != 0) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(buf.getLong(0) & 0xffffffffL);
  }

  /** The first of the candidates that is a mounted cgroup v2 hierarchy, if any. */
  public static java.util.Optional<Path> firstCgroup2(java.util.List<Path> candidates) {
    for (Path p : candidates) {
      OptionalLong m = magic(p);
      if (m.isPresent() && m.getAsLong() == CGROUP2_MAGIC) {
        return java.util.Optional.of(p);
      }
    }
    return java.util.Optional.empty();
  }

  /** Whether the file lives on overlayfs (a container's image root). False when unknown. */
  public static boolean isOverlay(Path path) {
    OptionalLong m = magic(path);
    return m.isPresent() && m.getAsLong() == OVERLAYFS_MAGIC;
  }
}
