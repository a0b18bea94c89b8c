package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Go's pc-line table ({@code runtime.pclntab}): the function table of every Go binary, present even when stripped.
 * Supports the header magics 0xfffffffb (Go 1.2–1.15), 0xfffffffa (1.16–1.17), 0xfffffff0 (1.18–1.19) and
 * 0xfffffff1 (1.20+).
 *
 * <p>Function names are not materialised up front: {@link #find(String)} builds a hash index over the raw name bytes
 * on first use. For Go ≥ 1.18 function entries are offsets from {@code textStart}; Go 1.26 writes 0 there, in which
 * case the caller passes {@code moduledata.text} (see {@link GoBinary}).
 */
public final class Pclntab {
  public static final int MAGIC_12 = 0xfffffffb;
  public static final int MAGIC_116 = 0xfffffffa;
  public static final int MAGIC_118 = 0xfffffff0;
  public static final int MAGIC_120 = 0xfffffff1;

  private static final int PTR = 8;
  static final int MAX_FUNCS = 8 << 20;

  private final ElfFile elf;
  private final long vaddr;
  private final ByteBuffer data;
  private final int magic;
  private final int nfunc;
  private final long headerTextStart;
  private long textStart;
  private final int funcnameOff;
  private final int pclnOff;
  private final int ftabEntrySize;
  private int[] hashIndex;
  private int linearLookups;
  /** Lookups answered by a scan before the name index is built. */
  static final int LINEAR_LOOKUPS = 4;

  private Pclntab(ElfFile elf, long vaddr, ByteBuffer raw) {
    this.elf = elf;
    this.vaddr = vaddr;
    // A view of our own in little-endian order: ByteBuffer.slice() and duplicate() reset the order to big-endian,
    // so a caller's slice of a little-endian mapping would otherwise be read byte-swapped.
    this.data = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int cap = data.capacity();
    if (cap < 16) {
      throw problem("too small (" + cap + " bytes)");
    }
    this.magic = data.getInt(0);
    if (!isKnownMagic(magic)) {
      throw problem(String.format("bad magic 0x%08x", magic));
    }
    if (data.get(4) != 0 || data.get(5) != 0 || data.get(7) != PTR) {
      throw problem("unsupported header (pad " + data.get(4) + "/" + data.get(5) + ", ptrSize " + data.get(7) + ")");
    }
    long n = data.getLong(8);
    if (n < 0 || n > MAX_FUNCS) {
      throw problem("implausible function count " + n);
    }
    this.nfunc = (int) n;
    switch (magic) {
      case MAGIC_12 -> {
        headerTextStart = 0;
        funcnameOff = 0;
        pclnOff = 0;
        ftabEntrySize = 16;
      }
      case MAGIC_116 -> {
        headerTextStart = 0;
        funcnameOff = offsetField(24);
        pclnOff = offsetField(56);
        ftabEntrySize = 16;
      }
      default -> {
        headerTextStart = data.getLong(24);
        funcnameOff = offsetField(32);
        pclnOff = offsetField(64);
        ftabEntrySize = 8;
      }
    }
    this.textStart = headerTextStart;
    long ftabStart = ftabStart();
    if (ftabStart + (long) (nfunc + 1) * ftabEntrySize > cap) {
      throw problem("function table of " + nfunc + " entries extends past the end (" + cap + " bytes)");
    }
  }

  /**
   * Parses a pclntab whose bytes are {@code data} (read little-endian whatever the buffer's order), located at
   * link-time address {@code vaddr}.
   */
  public static Pclntab parse(ElfFile elf, long vaddr, ByteBuffer data) {
    requireNonNull(elf, "elf");
    requireNonNull(data, "data");
    try {
      return new Pclntab(elf, vaddr, data);
    } catch (IndexOutOfBoundsException e) {
      throw elf.error("pclntab: truncated", e);
    }
  }

  /**
   * Finds the pclntab: by section name ({@code .gopclntab}, {@code .data.rel.ro.gopclntab}), by the
   * {@code runtime.pclntab} symbol, else by scanning read-only loadable segments for a plausible header.
   */
  public static Pclntab locate(ElfFile elf) {
    for (String name : List.of(".gopclntab", ".data.rel.ro.gopclntab")) {
      Optional<ElfSection> s = elf.section(name);
      if (s.isPresent() && s.get().hasFileData()) {
        return parse(elf, s.get().addr(), elf.sectionData(s.get()));
      }
    }
    for (String name : List.of("runtime.pcheader", "runtime.pclntab")) {
      Optional<ElfSymbol> sym = elf.symbol(name);
      if (sym.isPresent()) {
        return fromVaddr(elf, sym.get().value());
      }
    }
    for (ElfSegment seg : elf.loadSegments()) {
      if (seg.executable()) {
        continue;
      }
      ByteBuffer b = elf.scanView(seg, "segment");
      int limit = b.capacity() - 64;
      for (int off = 0; off <= limit; off += 8) {
        int m = b.getInt(off);
        if (isKnownMagic(m) && plausibleHeader(b, off)) {
          Pclntab t = tryParse(elf, seg.vaddr() + off, b.slice(off, b.capacity() - off));
          if (t != null) {
            return t;
          }
        }
      }
    }
    throw elf.error("pclntab not found (no .gopclntab section, no runtime.pclntab symbol, no header in any"
        + " read-only segment): not a Go binary?");
  }

  private static Pclntab fromVaddr(ElfFile elf, long addr) {
    ElfAddressSpace as = elf.elfAddressSpace();
    ElfSegment seg = as.segmentFor(addr, 16);
    if (seg == null) {
      throw elf.error(String.format("pclntab address 0x%x is not inside a loadable segment", addr));
    }
    long rel = addr - seg.vaddr();
    return parse(elf, addr, elf.slice(seg.offset() + rel, seg.filesz() - rel, "pclntab"));
  }

  private static Pclntab tryParse(ElfFile elf, long addr, ByteBuffer b) {
    try {
      Pclntab t = new Pclntab(elf, addr, b);
      return t.nfunc > 0 && t.functionsSorted() ? t : null;
    } catch (GoBinaryFormatException | IndexOutOfBoundsException e) {
      return null;
    }
  }

  private static boolean plausibleHeader(ByteBuffer b, int off) {
    byte minLc = b.get(off + 6);
    return b.get(off + 4) == 0 && b.get(off + 5) == 0 && (minLc == 1 || minLc == 2 || minLc == 4)
        && b.get(off + 7) == PTR;
  }

  private boolean functionsSorted() {
    long prev = -1;
    int step = Math.max(1, nfunc / 64);
    for (int i = 0; i <= nfunc; i += step) {
      long e = rawEntry(i);
      if (e < prev) {
        return false;
      }
      prev = e;
    }
    return true;
  }

  static boolean isKnownMagic(int m) {
    return m == MAGIC_12 || m == MAGIC_116 || m == MAGIC_118 || m == MAGIC_120;
  }

  private int offsetField(int at) {
    long v = data.getLong(at);
    if (v < 0 || v >= data.capacity()) {
      throw problem("header offset at +" + at + " (" + v + ") outside the table (" + data.capacity() + " bytes)");
    }
    return (int) v;
  }

  private GoBinaryFormatException problem(String what) {
    return elf.error("pclntab: " + what);
  }

  /** The header magic, e.g. {@link #MAGIC_120}. */
  public int magic() {
    return magic;
  }

  /** The oldest Go release that writes this pclntab format. */
  public GoVersion minGoVersion() {
    return switch (magic) {
      case MAGIC_12 -> GoVersion.of(1, 2, 0);
      case MAGIC_116 -> GoVersion.of(1, 16, 0);
      case MAGIC_118 -> GoVersion.of(1, 18, 0);
      default -> GoVersion.of(1, 20, 0);
    };
  }

  /** Link-time address of the header. */
  public long vaddr() {
    return vaddr;
  }

  /** The textStart written in the header (0 before Go 1.18 and again from Go 1.26). */
  public long headerTextStart() {
    return headerTextStart;
  }

  /** Whether entries are offsets from a text base that the header does not carry (Go ≥ 1.18 with textStart 0). */
  public boolean needsTextStart() {
    return ftabEntrySize == 8 && textStart == 0;
  }

  /** The base for function entry offsets in use. */
  public long textStart() {
    return textStart;
  }

  /** Sets the base for entry offsets (moduledata.text) when the header carries none. */
  public void useTextStart(long text) {
    this.textStart = text;
  }

  public int functionCount() {
    return nfunc;
  }

  private long ftabStart() {
    return magic == MAGIC_12 ? 8 + PTR : pclnOff;
  }

  /** Link-time address of the function table ({@code moduledata.ftab} points here). */
  long ftabAddress() {
    return vaddr + ftabStart();
  }

  /** Whether function entries are absolute addresses (Go &lt; 1.18) rather than offsets from a text base. */
  boolean absoluteEntries() {
    return ftabEntrySize == 16;
  }

  /** The table's {@code i}-th entry as stored (0..nfunc; entry nfunc is the end of the last function). */
  long storedEntry(int i) {
    if (i < 0 || i > nfunc) {
      throw new IndexOutOfBoundsException("function table entry " + i + " of " + (nfunc + 1));
    }
    return rawEntry(i);
  }

  private long rawEntry(int i) {
    int at = (int) (ftabStart() + (long) i * ftabEntrySize);
    return ftabEntrySize == 16 ? data.getLong(at) : data.getInt(at) & 0xffffffffL;
  }

  /** The entry address of function {@code i} (0-based, in address order). */
  public long entry(int i) {
    checkIndex(i);
    return ftabEntrySize == 16 ? rawEntry(i) : textStart + rawEntry(i);
  }

  /** The end address (exclusive) of function {@code i}: the next entry, or the table's end PC. */
  public long end(int i) {
    checkIndex(i);
    return ftabEntrySize == 16 ? rawEntry(i + 1) : textStart + rawEntry(i + 1);
  }

  /** The function's name, materialised on request. */
  public String name(int i) {
    checkIndex(i);
    int off = nameOffset(i);
    return off < 0 ? "" : ElfFile.readCString(data, off);
  }

  /**
   * The index of the function named {@code name}. The first {@value #LINEAR_LOOKUPS} lookups scan the table,
   * comparing raw name bytes (most names differ in their first bytes); later ones build and use a hash index, so a
   * binary that is asked for one or two probe symbols never pays for hashing every name.
   */
  public OptionalInt find(String name) {
    requireNonNull(name, "name");
    byte[] want = name.getBytes(StandardCharsets.UTF_8);
    if (hashIndex == null && linearLookups < LINEAR_LOOKUPS) {
      linearLookups++;
      for (int i = 0; i < nfunc; i++) {
        if (nameEquals(nameOffset(i), want)) {
          return OptionalInt.of(i);
        }
      }
      return OptionalInt.empty();
    }
    if (hashIndex == null) {
      buildIndex();
    }
    int h = hash(want);
    int mask = hashIndex.length - 1;
    for (int slot = h & mask, probes = 0; probes < hashIndex.length; slot = (slot + 1) & mask, probes++) {
      int v = hashIndex[slot];
      if (v == 0) {
        return OptionalInt.empty();
      }
      int idx = v - 1;
      if (nameEquals(nameOffset(idx), want)) {
        return OptionalInt.of(idx);
      }
    }
    return OptionalInt.empty();
  }

  private void buildIndex() {
    int size = Integer.highestOneBit(Math.max(16, nfunc * 2 - 1)) << 1;
    int[] table = new int[size];
    int mask = size - 1;
    for (int i = 0; i < nfunc; i++) {
      int off = nameOffset(i);
      if (off < 0) {
        continue;
      }
      int h = hashAt(off);
      int slot = h & mask;
      while (table[slot] != 0) {
        slot = (slot + 1) & mask;
      }
      table[slot] = i + 1;
    }
    hashIndex = table;
  }

  private int nameOffset(int i) {
    long funcoff = ftabEntrySize == 16
        ? data.getLong((int) (ftabStart() + (long) i * 16 + 8))
        : data.getInt((int) (ftabStart() + (long) i * 8 + 4)) & 0xffffffffL;
    long func = pclnOff + funcoff;
    int nameoffAt = ftabEntrySize == 16 ? 8 : 4;
    if (funcoff < 0 || func + nameoffAt + 4 > data.capacity()) {
      return -1;
    }
    long nameoff = data.getInt((int) func + nameoffAt);
    long at = funcnameOff + nameoff;
    if (nameoff < 0 || at >= data.capacity()) {
      return -1;
    }
    return (int) at;
  }

  private int hashAt(int off) {
    int h = 0x811c9dc5;
    int cap = data.capacity();
    for (int p = off; p < cap; p++) {
      byte c = data.get(p);
      if (c == 0) {
        break;
      }
      h = (h ^ (c & 0xff)) * 0x01000193;
    }
    return mix(h);
  }

  private static int hash(byte[] s) {
    int h = 0x811c9dc5;
    for (byte c : s) {
      h = (h ^ (c & 0xff)) * 0x01000193;
    }
    return mix(h);
  }

  private static int mix(int h) {
    return h ^ (h >>> 16);
  }

  private boolean nameEquals(int off, byte[] want) {
    if (off < 0 || off + (long) want.length >= data.capacity()) {
      return false;
    }
    for (int k = 0; k < want.length; k++) {
      if (data.get(off + k) != want[k]) {
        return false;
      }
    }
    return data.get(off + want.length) == 0;
  }

  private void checkIndex(int i) {
    if (i < 0 || i >= nfunc) {
      throw new IndexOutOfBoundsException("function index " + i + " of " + nfunc);
    }
  }

  @Override
  public String toString() {
    return String.format("Pclntab[magic=0x%08x, nfunc=%d, vaddr=0x%x, textStart=0x%x]", magic, nfunc, vaddr,
        textStart);
  }
}
