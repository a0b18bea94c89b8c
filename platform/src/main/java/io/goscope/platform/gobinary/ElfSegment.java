package io.goscope.platform.gobinary;

/** One ELF64 program header. */
public record ElfSegment(int type, int flags, long offset, long vaddr, long filesz, long memsz, long align) {
  public static final int PT_LOAD = 1;
  public static final int PT_DYNAMIC = 2;
  public static final int PF_X = 1;
  public static final int PF_W = 2;
  public static final int PF_R = 4;

  public boolean executable() {
    return (flags & PF_X) != 0;
  }

  public boolean writable() {
    return (flags & PF_W) != 0;
  }

  /** Whether {@code [vaddr, vaddr+length)} lies inside this segment's memory image. */
  public boolean containsVaddr(long addr, long length) {
    return length >= 0 && addr >= vaddr && addr - vaddr <= memsz && length <= memsz - (addr - vaddr);
  }
}
