package io.goscope.platform.sys;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;

/** The few libc calls the native layer needs: mmap for ring buffers, close for owned fds, vsnprintf for logs. */
final class Libc {
  static final int PROT_READ = 1;
  static final int PROT_WRITE = 2;
  static final int MAP_SHARED = 1;
  static final long MAP_FAILED = -1L;
  static final int F_DUPFD_CLOEXEC = 1030;
  static final int O_RDONLY = 0;
  static final int O_DIRECTORY = 0200000;
  static final int O_CLOEXEC = 02000000;

  /** jnr-ffi binding; public only so the generated implementation can see it (the enclosing class is not). */
  public interface Native {
    Pointer mmap(Pointer addr, @size_t long length, int prot, int flags, int fd, @off_t long offset);

    int munmap(Pointer addr, @size_t long length);

    int close(int fd);

    int open(String path, int flags);

    int fcntl(int fd, int cmd, int arg);

    int statfs(String path, Pointer buf);

    int getpagesize();

    int mount(String source, String target, String fsType, long flags, Pointer data);

    int geteuid();

    int vsnprintf(Pointer buf, @size_t long size, Pointer format, Pointer args);
  }

  private static final Native LIB = LibraryLoader.create(Native.class).load("c");
  private static final Runtime RUNTIME = Runtime.getRuntime(LIB);
  private static final int PAGE_SIZE = LIB.getpagesize();

  private Libc() {}

  static Native lib() {
    return LIB;
  }

  static Runtime runtime() {
    return RUNTIME;
  }

  static int pageSize() {
    return PAGE_SIZE;
  }

  /**
   * mmap(2) returning the address, or {@link #MAP_FAILED}. (Declared with a Pointer address and off_t: a
   * {@code long}-typed binding returned EINVAL from jnr-ffi 2.2 on this machine.)
   */
  static long mmap(long length, int prot, int flags, int fd, long offset) {
    Pointer p = LIB.mmap(null, length, prot, flags, fd, offset);
    return p == null ? MAP_FAILED : p.address();
  }

  static int munmap(long address, long length) {
    return LIB.munmap(Pointer.wrap(RUNTIME, address), length);
  }

  /** errno of the last failed call on this thread. */
  static int lastErrno() {
    return jnr.ffi.LastError.getLastError(RUNTIME);
  }
}
