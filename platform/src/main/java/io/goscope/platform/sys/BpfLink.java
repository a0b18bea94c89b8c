package io.goscope.platform.sys;

/**
 * An attached BPF program: detached (bpf_link__destroy) when closed. Closing is idempotent and never throws;
 * a failure to detach is logged.
 */
public sealed interface BpfLink extends AutoCloseable permits UprobeLink, TracepointLink, CgroupLink, SockMapLink {
  /** The BPF program's name. */
  String program();

  /** What the link attaches to, for logs, e.g. {@code uprobe /app/server pid=42 offset=0x2049a0}. */
  String target();

  /** Whether {@link #close()} has run. */
  boolean isClosed();

  @Override
  void close();
}
