package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One BPF program on many instructions of one binary through a single uprobe-multi link (kernel 6.6,
 * {@code BPF_TRACE_UPROBE_MULTI}): one system call places them all, and closing it removes them all with a single
 * kernel grace period, where separate perf-event uprobes each wait for one under a global lock.
 */
public final class UprobeMultiLink implements BpfLink {
  private static final Logger LOG = LoggerFactory.getLogger(UprobeMultiLink.class);

  private final String program;
  private final int pid;
  private final String binaryPath;
  private final long[] offsets;
  private final AtomicInteger fd;

  UprobeMultiLink(String program, int pid, String binaryPath, long[] offsets, int fd) {
    this.program = requireNonNull(program, "program");
    this.pid = pid;
    this.binaryPath = requireNonNull(binaryPath, "binaryPath");
    this.offsets = offsets.clone();
    this.fd = new AtomicInteger(fd);
  }

  @Override
  public String program() {
    return program;
  }

  @Override
  public int uprobeCount() {
    return offsets.length;
  }

  /** The traced process, or -1 for every process running the binary. */
  public int pid() {
    return pid;
  }

  @Override
  public String target() {
    StringBuilder b = new StringBuilder("uprobe-multi ").append(binaryPath).append(" pid=").append(pid)
        .append(" offsets=");
    for (int i = 0; i < offsets.length && i < 4; i++) {
      b.append(i == 0 ? "" : ",").append("0x").append(Long.toHexString(offsets[i]));
    }
    return offsets.length > 4 ? b.append(",... (").append(offsets.length).append(")").toString() : b.toString();
  }

  @Override
  public boolean isClosed() {
    return fd.get() < 0;
  }

  @Override
  public void close() {
    int f = fd.getAndSet(-1);
    if (f < 0) {
      return;
    }
    if (Libc.lib().close(f) != 0) {
      LOG.warn("detach failed program={} target=\"{}\" errno={}", program, target(), Errno.name(Libc.lastErrno()));
    } else {
      LOG.debug("detached program={} target=\"{}\"", program, target());
    }
  }

  @Override
  public String toString() {
    return "UprobeMultiLink{program=" + program + ", " + target() + "}";
  }
}
