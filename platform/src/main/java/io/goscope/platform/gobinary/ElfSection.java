package io.goscope.platform.gobinary;

/** One ELF64 section header, as read from the file (sizes not yet validated against the file). */
public record ElfSection(
    int index, String name, int type, long flags, long addr, long offset, long size, int link, int info,
    long entsize) {
  public static final int SHT_PROGBITS = 1;
  public static final int SHT_SYMTAB = 2;
  public static final int SHT_NOTE = 7;
  public static final int SHT_NOBITS = 8;
  public static final int SHT_RELA = 4;
  public static final long SHF_WRITE = 0x1;
  public static final long SHF_ALLOC = 0x2;
  public static final long SHF_EXECINSTR = 0x4;
  public static final long SHF_COMPRESSED = 0x800;

  /** Whether the section occupies file bytes. */
  public boolean hasFileData() {
    return type != SHT_NOBITS && size > 0;
  }
}
