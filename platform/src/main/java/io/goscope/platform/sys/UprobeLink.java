package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

/** A uprobe attached to one function entry (or instruction) of one binary, for one process or all of them. */
public final class UprobeLink implements BpfLink {
  private final String program;
  private final int pid;
  private final String binaryPath;
  private final long fileOffset;
  private final long cookie;
  private final NativeLink link;

  UprobeLink(String program, int pid, String binaryPath, long fileOffset, long cookie, NativeLink link) {
    this.program = requireNonNull(program, "program");
    this.pid = pid;
    this.binaryPath = requireNonNull(binaryPath, "binaryPath");
    this.fileOffset = fileOffset;
    this.cookie = cookie;
    this.link = requireNonNull(link, "link");
  }

  @Override
  public String program() {
    return program;
  }

  /** The traced process, or -1 for every process running the binary. */
  public int pid() {
    return pid;
  }

  public String binaryPath() {
    return binaryPath;
  }

  /** Offset of the probed instruction in the binary file. */
  public long fileOffset() {
    return fileOffset;
  }

  /** The BPF cookie the program reads with bpf_get_attach_cookie. */
  public long cookie() {
    return cookie;
  }

  @Override
  public int uprobeCount() {
    return 1;
  }

  @Override
  public String target() {
    return "uprobe " + binaryPath + " pid=" + pid + " offset=0x" + Long.toHexString(fileOffset);
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
    return "UprobeLink{program=" + program + ", " + target() + ", cookie=" + cookie + "}";
  }
}
