package io.goscope.platform.sys;

import java.util.concurrent.atomic.AtomicReference;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Owns one {@code struct bpf_link *}; destroys it exactly once. */
final class NativeLink {
  private static final Logger LOG = LoggerFactory.getLogger(NativeLink.class);

  private final AtomicReference<Pointer> link;

  NativeLink(Pointer link) {
    this.link = new AtomicReference<>(link);
  }

  boolean isClosed() {
    return link.get() == null;
  }

  void destroy(String program, String target) {
    Pointer p = link.getAndSet(null);
    if (p == null) {
      return;
    }
    int rc = Libbpf.lib().bpf_link__destroy(p);
    if (rc != 0) {
      LOG.warn("detach failed program={} target=\"{}\" errno={}", program, target, Errno.name(-rc));
    } else {
      LOG.debug("detached program={} target=\"{}\"", program, target);
    }
  }
}
