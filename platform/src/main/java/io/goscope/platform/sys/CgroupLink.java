package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

/** A BPF program attached to a cgroup (a {@code bpf_link}, so other programs attached there stay untouched). */
public final class CgroupLink implements BpfLink {
  private final String program;
  private final String cgroup;
  private final NativeLink link;

  CgroupLink(String program, String cgroup, NativeLink link) {
    this.program = requireNonNull(program, "program");
    this.cgroup = requireNonNull(cgroup, "cgroup");
    this.link = requireNonNull(link, "link");
  }

  @Override
  public String program() {
    return program;
  }

  @Override
  public String target() {
    return "cgroup " + cgroup;
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
    return "CgroupLink{program=" + program + ", " + target() + "}";
  }
}
