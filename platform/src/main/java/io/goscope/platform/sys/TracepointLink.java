package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

/** A BPF program attached to a kernel tracepoint such as {@code sched:sched_process_exec}. */
public final class TracepointLink implements BpfLink {
  private final String program;
  private final String category;
  private final String name;
  private final NativeLink link;

  TracepointLink(String program, String category, String name, NativeLink link) {
    this.program = requireNonNull(program, "program");
    this.category = requireNonNull(category, "category");
    this.name = requireNonNull(name, "name");
    this.link = requireNonNull(link, "link");
  }

  @Override
  public String program() {
    return program;
  }

  @Override
  public String target() {
    return "tracepoint " + category + ":" + name;
  }

  @Override
  public boolean isClosed() {
    return link.isClosed();
  }

  @Override
  public void close() {
    link.destroy(program, target());
  }

  @Override
  public String toString() {
    return "TracepointLink{program=" + program + ", " + target() + "}";
  }
}
