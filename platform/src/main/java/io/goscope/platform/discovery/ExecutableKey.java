package io.goscope.platform.discovery;

/**
 * Identity of one version of an executable file: device and inode as seen through {@code /proc/<pid>/exe} (which
 * resolves inside the process's mount namespace), plus the modification time so a rewritten file gets a new key.
 *
 * @param device st_dev
 * @param inode st_ino
 * @param mtimeNanos modification time in nanoseconds since the epoch
 */
public record ExecutableKey(long device, long inode, long mtimeNanos) {}
