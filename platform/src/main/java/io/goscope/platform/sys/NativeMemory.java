package io.goscope.platform.sys;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The native heap of the agent's process. Loading a BPF object makes libbpf allocate and free several megabytes
 * (the kernel's BTF, the ELF, relocations); glibc keeps freed memory in its arenas, where it stays resident.
 * {@link #trim()} hands it back to the kernel.
 */
public final class NativeMemory {
  private static final Logger LOG = LoggerFactory.getLogger(NativeMemory.class);

  private NativeMemory() {}

  /** glibc's malloc_trim(0): returns free native heap memory to the kernel. Harmless elsewhere. */
  public static void trim() {
    try {
      Libc.lib().malloc_trim(0);
    } catch (RuntimeException | LinkageError e) {
      LOG.debug("malloc_trim unavailable reason={}", e.toString());
    }
  }
}
