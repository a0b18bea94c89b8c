package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An ELF with program headers only (what {@code sstrip} and some packers leave): the pclntab and the build info are
 * then found by scanning the loadable segments, whose views are {@code ByteBuffer.slice()}s of the mapping. A slice
 * is big-endian whatever its parent's order, so both were once read byte-swapped: "pclntab not found" for every
 * layout, and an implausible version-string pointer in the pre-1.18 build info. The files are built here: a text
 * segment, a read-only segment holding a pclntab and Go strings, a writable one holding the build-info blob.
 */
class SectionlessElfTest {
  private static final long TEXT = 0x401000;
  private static final long RODATA = 0x402000;
  private static final long DATA = 0x403000;
  private static final int SEG = 0x1000;
  private static final byte[] MODINFO_START = HexFormat.of().parseHex("3077af0c9274080241e1c107e6d618e6");
  private static final byte[] MODINFO_END = HexFormat.of().parseHex("f932433186182072008242104116d8f2");

  @TempDir Path tmp;

  @Test
  void go116LayoutAndPointerBuildInfoAreFoundByScanning() throws IOException {
    Path f = write(tmp.resolve("go1.17-sstripped"), Pclntab.MAGIC_116, "go1.17.5");
    try (ElfFile elf = ElfFile.open(f)) {
      assertEquals("go1.17.5", GoBuildInfo.read(elf).orElseThrow().goVersion().raw());
    }
    try (GoBinary b = GoBinary.open(f)) {
      assertTrue(b.elf().sections().isEmpty(), "no section headers");
      checkFunctions(b, Pclntab.MAGIC_116);
      GoBuildInfo bi = b.buildInfo().orElseThrow();
      assertEquals("go1.17.5", bi.goVersion().raw());
      assertEquals("example.com/app", bi.mainModule().orElseThrow().path());
    }
  }

  @Test
  void go120LayoutAndInlineBuildInfoAreFoundByScanning() throws IOException {
    Path f = write(tmp.resolve("go1.22-sstripped"), Pclntab.MAGIC_120, "go1.22.5");
    try (GoBinary b = GoBinary.open(f)) {
      checkFunctions(b, Pclntab.MAGIC_120);
      assertEquals("go1.22.5", b.goVersion().raw());
      assertEquals("example.com/app", b.buildInfo().orElseThrow().mainModule().orElseThrow().path());
    }
  }

  @Test
  void pclntabParsesLittleEndianWhateverTheBufferOrder() throws IOException {
    ByteBuffer seg = rodata(Pclntab.MAGIC_118);
    try (ElfFile elf = ElfFile.open(write(tmp.resolve("any"), Pclntab.MAGIC_118, "go1.18.2"))) {
      Pclntab p = Pclntab.parse(elf, RODATA, seg.order(ByteOrder.BIG_ENDIAN));
      assertEquals(Pclntab.MAGIC_118, p.magic());
      assertEquals(TEXT + 0x40, p.entry(1));
    }
  }

  private static void checkFunctions(GoBinary b, int magic) {
    Pclntab p = b.pclntab();
    assertEquals(magic, p.magic());
    assertEquals(RODATA, p.vaddr());
    assertEquals(2, p.functionCount());
    GoFunction helper = b.function("main.helper").orElseThrow();
    assertEquals(TEXT + 0x40, helper.entry());
    assertEquals(TEXT + 0x80, helper.end());
    assertEquals(SEG + 0x40, helper.entryFileOffset());
    assertEquals(TEXT, b.function("main.main").orElseThrow().entry());
  }

  /** An ELF64 x86-64 executable with three PT_LOADs and no section header table. */
  private static Path write(Path path, int magic, String goVersion) throws IOException {
    ByteBuffer file = le(ByteBuffer.allocate(4 * SEG));
    file.putInt(0, 0x464c457f).put(4, (byte) 2).put(5, (byte) 1).put(6, (byte) 1);
    file.putShort(16, (short) 2).putShort(18, (short) ElfFile.EM_X86_64).putInt(20, 1);
    file.putLong(24, TEXT).putLong(32, 64).putLong(40, 0); // entry, phoff, shoff (none)
    file.putShort(52, (short) 64).putShort(54, (short) 56).putShort(56, (short) 3);
    file.putShort(58, (short) 64).putShort(60, (short) 0).putShort(62, (short) 0);
    phdr(file, 0, 5, SEG, TEXT);
    phdr(file, 1, 4, 2 * SEG, RODATA);
    phdr(file, 2, 6, 3 * SEG, DATA);
    ByteBuffer text = slice(file, SEG);
    for (int i = 0; i < SEG; i++) {
      text.put(i, (byte) 0xcc);
    }
    text.putInt(0, 0x10663b49).putInt(0x40, 0x10663b49); // cmp rsp, [r14+16]: a Go stack-check prologue
    slice(file, 2 * SEG).put(rodata(magic));
    ByteBuffer data = slice(file, 3 * SEG);
    int blob = 0x20; // 16-aligned, not at the segment start
    data.put(blob, GoBuildInfo.MAGIC).put(blob + 14, (byte) 8);
    byte[] modinfo = modinfo();
    if (magic == Pclntab.MAGIC_116) {
      // Go < 1.18: pointers to the string headers of runtime.buildVersion and runtime.modinfo.
      data.put(blob + 15, (byte) 0).putLong(blob + 16, DATA + 0x100).putLong(blob + 24, DATA + 0x110);
      data.putLong(0x100, RODATA + 0x800).putLong(0x108, goVersion.length());
      data.putLong(0x110, RODATA + 0x900).putLong(0x118, modinfo.length);
      ByteBuffer ro = slice(file, 2 * SEG);
      ro.put(0x800, goVersion.getBytes(StandardCharsets.US_ASCII)).put(0x900, modinfo);
    } else {
      // Go >= 1.18: both strings inline after the 32-byte header, uvarint-length-prefixed.
      data.put(blob + 15, (byte) 2).position(blob + 32);
      data.put((byte) goVersion.length()).put(goVersion.getBytes(StandardCharsets.US_ASCII));
      data.put((byte) (modinfo.length | 0x80)).put((byte) (modinfo.length >>> 7)).put(modinfo);
    }
    return Files.write(path, file.array());
  }

  /** The read-only segment: a pclntab of two functions at its start, in the layout {@code magic} selects. */
  private static ByteBuffer rodata(int magic) {
    ByteBuffer b = le(ByteBuffer.allocate(SEG));
    b.putInt(0, magic).put(6, (byte) 1).put(7, (byte) 8).putLong(8, 2);
    byte[] names = "main.main\0main.helper\0".getBytes(StandardCharsets.US_ASCII);
    int funcnames = 0x80;
    int pcln = 0x100;
    b.put(funcnames, names);
    long[] entries = {TEXT, TEXT + 0x40, TEXT + 0x80};
    int[] nameOffs = {0, 10};
    if (magic == Pclntab.MAGIC_116) {
      b.putLong(24, funcnames).putLong(56, pcln);
      for (int i = 0; i < 3; i++) { // {entry u64, funcoff u64}, then _func {entry u64, nameoff i32}
        int funcoff = 0x40 + i * 0x10;
        b.putLong(pcln + i * 16, entries[i]).putLong(pcln + i * 16 + 8, i < 2 ? funcoff : 0);
        if (i < 2) {
          b.putLong(pcln + funcoff, entries[i]).putInt(pcln + funcoff + 8, nameOffs[i]);
        }
      }
    } else {
      b.putLong(24, TEXT).putLong(32, funcnames).putLong(64, pcln);
      for (int i = 0; i < 3; i++) { // {entryoff u32, funcoff u32}, then _func {entryoff u32, nameoff i32}
        int funcoff = 0x40 + i * 0x10;
        b.putInt(pcln + i * 8, (int) (entries[i] - TEXT)).putInt(pcln + i * 8 + 4, i < 2 ? funcoff : 0);
        if (i < 2) {
          b.putInt(pcln + funcoff, (int) (entries[i] - TEXT)).putInt(pcln + funcoff + 4, nameOffs[i]);
        }
      }
    }
    return b;
  }

  private static byte[] modinfo() {
    byte[] text = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n".getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(32 + text.length).put(MODINFO_START).put(text).put(MODINFO_END).array();
  }

  private static void phdr(ByteBuffer file, int i, int flags, long offset, long vaddr) {
    int at = 64 + i * 56;
    file.putInt(at, 1).putInt(at + 4, flags).putLong(at + 8, offset).putLong(at + 16, vaddr)
        .putLong(at + 24, vaddr).putLong(at + 32, SEG).putLong(at + 40, SEG).putLong(at + 48, SEG);
  }

  private static ByteBuffer slice(ByteBuffer file, int offset) {
    return le(file.slice(offset, SEG));
  }

  private static ByteBuffer le(ByteBuffer b) {
    return b.order(ByteOrder.LITTLE_ENDIAN);
  }
}
