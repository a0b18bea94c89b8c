package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A BPF program attached to a socket map ({@code bpf_prog_attach}, e.g. the sk_msg verdict of a sockhash): detached
 * with {@code bpf_prog_detach2} when closed, and in any case when the map goes away. The object that owns the
 * program and the map must stay open until this is closed.
 */
public final class SockMapLink implements BpfLink {
  private static final Logger LOG = LoggerFactory.getLogger(SockMapLink.class);

  private final String program;
  private final String map;
  private final int progFd;
  private final int mapFd;
  private final int attachType;
  private final AtomicBoolean closed = new AtomicBoolean();

  SockMapLink(String program, String map, int progFd, int mapFd, int attachType) {
    this.program = requireNonNull(program, "program");
    this.map = requireNonNull(map, "map");
    this.progFd = progFd;
    this.mapFd = mapFd;
    this.attachType = attachType;
  }

  @Override
  public String program() {
    return program;
  }

  @Override
  public String target() {
    return "map " + map + " attach_type=" + attachType;
  }

  @Override
  public boolean isClosed() {
    return closed.get();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    int rc = Libbpf.lib().bpf_prog_detach2(progFd, mapFd, attachType);
    if (rc != 0) {
      LOG.warn("detach failed program={} target=\"{}\" errno={}", program, target(), Errno.name(-rc));
    } else {
      LOG.debug("detached program={} target=\"{}\"", program, target());
    }
  }

  @Override
  public String toString() {
    return "SockMapLink{program=" + program + ", " + target() + "}";
  }
}
