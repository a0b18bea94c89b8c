package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A little-endian ELF64 file, memory-mapped read-only. Every size and offset read from the file is checked against
 * the file size before use; every problem is a {@link GoBinaryFormatException} naming the file.
 *
 * <p>Not thread-safe for the lazily built indexes; share one instance per thread or synchronise externally.
 */
public final class ElfFile implements AutoCloseable {
  public static final int EM_X86_64 = 62;
  public static final int EM_AARCH64 = 183;
  public static final int ET_EXEC = 2;
  public static final int ET_DYN = 3;

  private static final int EHDR_SIZE = 64;
  private static final int SHDR_SIZE = 64;
  private static final int PHDR_SIZE = 56;
  private static final int SYM_SIZE = 24;
  private static final int MAX_SECTIONS = 65_535;
  private static final int MAX_SEGMENTS = 4096;

  private final Path path;
  private final String name;
  private final FileChannel channel;
  private final ByteBuffer map;
  private final long size;
  private final int type;
  private final int machine;
  private final List<ElfSection> sections;
  private final List<ElfSegment> segments;
  private List<ElfSymbol> symbols;
  private ElfAddressSpace addressSpace;

  private ElfFile(Path path, FileChannel channel, ByteBuffer map) {
    this.path = path;
    this.name = path.toString();
    this.channel = channel;
    this.map = map;
    this.size = map.capacity();
    try {
      if (size < EHDR_SIZE) {
        throw error("file too small for an ELF header (" + size + " bytes)");
      }
      if (map.getInt(0) != 0x464c457f) {
        throw error("not an ELF file (bad magic)");
      }
      int elfClass = map.get(4);
      if (elfClass == 1) {
        throw error("32-bit ELF not supported");
      }
      if (elfClass != 2) {
        throw error("bad ELF class " + elfClass);
      }
      if (map.get(5) != 1) {
        throw error("big-endian ELF not supported");
      }
      this.type = u16(16);
      this.machine = u16(18);
      this.segments = readSegments();
      this.sections = readSections();
    } catch (IndexOutOfBoundsException | BufferUnderflowException e) {
      throw error("truncated or corrupt ELF structure", e);
    }
  }

  /**
   * Opens and memory-maps {@code path}, parsing the ELF, program and section headers.
   *
   * @throws GoBinaryFormatException if the file cannot be read or is not a supported ELF64 file
   */
  public static ElfFile open(Path path) {
    requireNonNull(path, "path");
    if (Files.isDirectory(path)) {
      throw new GoBinaryFormatException(path.toString(), "is a directory, not an ELF file");
    }
    if (Files.exists(path) && !Files.isRegularFile(path)) {
      // A FIFO would block the open until a writer appears; devices have no meaningful size.
      throw new GoBinaryFormatException(path.toString(), "not a regular file (device, FIFO or socket)");
    }
    FileChannel ch = null;
    try {
      ch = FileChannel.open(path, StandardOpenOption.READ);
      long sz = ch.size();
      if (sz > Integer.MAX_VALUE) {
        throw new GoBinaryFormatException(path.toString(), "files over 2 GiB are not supported (" + sz + " bytes)");
      }
      ByteBuffer m = sz == 0 ? ByteBuffer.allocate(0) : ch.map(FileChannel.MapMode.READ_ONLY, 0, sz);
      m.order(ByteOrder.LITTLE_ENDIAN);
      return new ElfFile(path, ch, m);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new GoBinaryFormatException(path.toString(), "cannot read: " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }

  public Path path() {
    return path;
  }

  /** ELF e_machine, e.g. {@link #EM_X86_64} or {@link #EM_AARCH64}. */
  public int machine() {
    return machine;
  }

  /** Whether the file is position-independent (ET_DYN). */
  public boolean isPie() {
    return type == ET_DYN;
  }

  /** The file size in bytes. */
  public long size() {
    return size;
  }

  public List<ElfSection> sections() {
    return sections;
  }

  public Optional<ElfSection> section(String sectionName) {
    for (ElfSection s : sections) {
      if (s.name().equals(sectionName)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  /** All program headers. */
  public List<ElfSegment> segments() {
    return segments;
  }

  public List<ElfSegment> loadSegments() {
    List<ElfSegment> out = new ArrayList<>();
    for (ElfSegment s : segments) {
      if (s.type() == ElfSegment.PT_LOAD) {
        out.add(s);
      }
    }
    return out;
  }

  /** The raw bytes of a section (a view of the mapping, little-endian, no copy). Empty for SHT_NOBITS. */
  public ByteBuffer sectionData(ElfSection s) {
    requireNonNull(s, "s");
    if (!s.hasFileData()) {
      return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
    }
    return slice(s.offset(), s.size(), "section " + s.name());
  }

  /**
   * The section's bytes, inflated when compressed (SHF_COMPRESSED with an Elf64_Chdr, or a legacy {@code .zdebug_*}
   * section), with the output bounded by {@code maxBytes}.
   */
  public ByteBuffer sectionDataDecompressed(ElfSection s, long maxBytes) {
    requireNonNull(s, "s");
    ByteBuffer raw = sectionData(s);
    long declared;
    int dataStart;
    if ((s.flags() & ElfSection.SHF_COMPRESSED) != 0) {
      if (raw.remaining() < 24) {
        throw error("section " + s.name() + ": compressed header truncated");
      }
      int chType = raw.getInt(0);
      if (chType != 1) {
        throw error("section " + s.name() + ": unsupported compression type " + chType);
      }
      declared = raw.getLong(8);
      dataStart = 24;
    } else if (s.name().startsWith(".zdebug_")) {
      if (raw.remaining() < 12 || raw.get(0) != 'Z' || raw.get(1) != 'L' || raw.get(2) != 'I' || raw.get(3) != 'B') {
        throw error("section " + s.name() + ": missing ZLIB header");
      }
      declared = raw.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(4);
      dataStart = 12;
    } else {
      if (s.size() > maxBytes) {
        throw error("section " + s.name() + " is " + s.size() + " bytes, over the limit " + maxBytes);
      }
      return raw;
    }
    if (declared < 0 || declared > maxBytes) {
      throw error("section " + s.name() + ": uncompressed size " + declared + " over the limit " + maxBytes);
    }
    byte[] out = new byte[(int) declared];
    Inflater inflater = new Inflater();
    try {
      ByteBuffer in = raw.duplicate();
      in.position(dataStart);
      inflater.setInput(in);
      int n = 0;
      while (n < out.length && !inflater.finished()) {
        int k = inflater.inflate(out, n, out.length - n);
        if (k == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
          break;
        }
        n += k;
      }
      if (n != out.length) {
        throw error("section " + s.name() + ": inflated " + n + " bytes, header says " + declared);
      }
    } catch (DataFormatException e) {
      throw error("section " + s.name() + ": bad zlib data: " + e.getMessage(), e);
    } finally {
      inflater.end();
    }
    return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A view of {@code length} file bytes at {@code offset}, little-endian; checked against the file size. */
  public ByteBuffer slice(long offset, long length, String what) {
    if (offset < 0 || length < 0 || offset > size || length > size - offset) {
      throw error(what + ": range [" + offset + ", +" + length + ") outside the file (" + size + " bytes)");
    }
    return map.slice((int) offset, (int) length).order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * Upper bound on the bytes of one segment that a heuristic scan (for a pclntab header, build-info magic, a pointer
   * to the pclntab) reads: a hostile or sparse file must not make the parser touch gigabytes.
   */
  public static final long MAX_SCAN_BYTES = 256L << 20;

  /** The first {@link #MAX_SCAN_BYTES} file bytes of {@code seg}, for heuristic scans. */
  ByteBuffer scanView(ElfSegment seg, String what) {
    return slice(seg.offset(), Math.min(seg.filesz(), MAX_SCAN_BYTES), what);
  }

  /**
   * Converts a link-time virtual address to a file offset through the PT_LOAD segment containing it
   * ({@code vaddr - p_vaddr + p_offset}); works for PIE and non-PIE alike.
   *
   * @throws GoBinaryFormatException if no segment holds file bytes at {@code vaddr}
   */
  public long fileOffsetForVaddr(long vaddr) {
    for (ElfSegment s : segments) {
      if (s.type() == ElfSegment.PT_LOAD && vaddr >= s.vaddr() && vaddr - s.vaddr() < s.filesz()) {
        return vaddr - s.vaddr() + s.offset();
      }
    }
    throw error(String.format("no loadable segment holds file bytes for vaddr 0x%x", vaddr));
  }

  /** The loadable image by virtual address, with R_*_RELATIVE dynamic relocations applied (for PIE). */
  public AddressSpace addressSpace() {
    if (addressSpace == null) {
      addressSpace = new ElfAddressSpace(this);
    }
    return addressSpace;
  }

  ElfAddressSpace elfAddressSpace() {
    return (ElfAddressSpace) addressSpace();
  }

  /** The .symtab symbols (empty when the binary is stripped). Built once, on first call. */
  public List<ElfSymbol> symbols() {
    if (symbols == null) {
      List<ElfSymbol> out = new ArrayList<>();
      Optional<ElfSection> symtab = symtabSection();
      if (symtab.isPresent()) {
        ByteBuffer syms = sectionData(symtab.get());
        ByteBuffer strs = linkedStrtab(symtab.get());
        int n = syms.capacity() / SYM_SIZE;
        for (int i = 1; i < n; i++) {
          out.add(symbolAt(syms, strs, i * SYM_SIZE, readCString(strs, syms.getInt(i * SYM_SIZE))));
        }
      }
      symbols = Collections.unmodifiableList(out);
    }
    return symbols;
  }

  /** Looks a symbol up by exact name, scanning .symtab without materialising every name. */
  public Optional<ElfSymbol> symbol(String symbolName) {
    requireNonNull(symbolName, "symbolName");
    if (symbols != null) {
      for (ElfSymbol s : symbols) {
        if (s.name().equals(symbolName)) {
          return Optional.of(s);
        }
      }
      return Optional.empty();
    }
    Optional<ElfSection> symtab = symtabSection();
    if (symtab.isEmpty()) {
      return Optional.empty();
    }
    byte[] want = symbolName.getBytes(StandardCharsets.UTF_8);
    ByteBuffer syms = sectionData(symtab.get());
    ByteBuffer strs = linkedStrtab(symtab.get());
    int n = syms.capacity() / SYM_SIZE;
    int strLen = strs.capacity();
    for (int i = 1; i < n; i++) {
      int nameOff = syms.getInt(i * SYM_SIZE);
      if (nameOff < 0 || nameOff > strLen - want.length - 1) {
        continue;
      }
      if (strs.get(nameOff + want.length) != 0) {
        continue;
      }
      boolean eq = true;
      for (int k = 0; k < want.length; k++) {
        if (strs.get(nameOff + k) != want[k]) {
          eq = false;
          break;
        }
      }
      if (eq) {
        return Optional.of(symbolAt(syms, strs, i * SYM_SIZE, symbolName));
      }
    }
    return Optional.empty();
  }

  /** Whether the file has a .symtab. */
  public boolean hasSymtab() {
    return symtabSection().isPresent();
  }

  private Optional<ElfSection> symtabSection() {
    for (ElfSection s : sections) {
      if (s.type() == ElfSection.SHT_SYMTAB && s.hasFileData()) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  private ByteBuffer linkedStrtab(ElfSection symtab) {
    int link = symtab.link();
    if (link <= 0 || link >= sections.size()) {
      throw error("section " + symtab.name() + ": bad string table link " + link);
    }
    return sectionData(sections.get(link));
  }

  private static ElfSymbol symbolAt(ByteBuffer syms, ByteBuffer strs, int off, String symName) {
    int info = syms.get(off + 4) & 0xff;
    int shndx = syms.getShort(off + 6) & 0xffff;
    return new ElfSymbol(symName, syms.getLong(off + 8), syms.getLong(off + 16), info & 0xf, info >> 4, shndx);
  }

  /** The GNU build ID (hex) from .note.gnu.build-id, if any. */
  public Optional<String> gnuBuildId() {
    return note(".note.gnu.build-id", "GNU", 3).map(b -> HexFormat.of().formatHex(b));
  }

  /** The Go build ID from .note.go.buildid or the leading {@code \xff Go build ID: "..."} in the text. */
  public Optional<String> goBuildId() {
    Optional<String> fromNote =
        note(".note.go.buildid", "Go", 4).map(b -> new String(b, StandardCharsets.UTF_8));
    if (fromNote.isPresent()) {
      return fromNote;
    }
    for (ElfSegment seg : segments) {
      if (seg.type() == ElfSegment.PT_LOAD && seg.executable()) {
        ByteBuffer text = slice(seg.offset(), Math.min(seg.filesz(), 8192), "text segment");
        return scanGoBuildId(text);
      }
    }
    return Optional.empty();
  }

  private static Optional<String> scanGoBuildId(ByteBuffer b) {
    byte[] prefix = "\u00ff Go build ID: \"".getBytes(StandardCharsets.ISO_8859_1);
    int n = b.capacity();
    outer:
    for (int i = 0; i + prefix.length < n; i++) {
      for (int k = 0; k < prefix.length; k++) {
        if (b.get(i + k) != prefix[k]) {
          continue outer;
        }
      }
      int start = i + prefix.length;
      for (int j = start; j < n && j - start < 1024; j++) {
        if (b.get(j) == '"') {
          byte[] id = new byte[j - start];
          b.get(start, id);
          return Optional.of(new String(id, StandardCharsets.UTF_8));
        }
      }
      return Optional.empty();
    }
    return Optional.empty();
  }

  private Optional<byte[]> note(String sectionName, String owner, int noteType) {
    Optional<ElfSection> sec = section(sectionName);
    if (sec.isEmpty()) {
      return Optional.empty();
    }
    ByteBuffer b = sectionData(sec.get());
    int pos = 0;
    while (pos + 12 <= b.capacity()) {
      long namesz = b.getInt(pos) & 0xffffffffL;
      long descsz = b.getInt(pos + 4) & 0xffffffffL;
      int ntype = b.getInt(pos + 8);
      long nameStart = pos + 12L;
      long descStart = nameStart + align4(namesz);
      long next = descStart + align4(descsz);
      if (descStart + descsz > b.capacity()) {
        throw error(sectionName + ": note truncated");
      }
      byte[] nameBytes = new byte[(int) Math.max(0, namesz - 1)];
      b.get((int) nameStart, nameBytes);
      String noteOwner = new String(nameBytes, StandardCharsets.UTF_8);
      int nul = noteOwner.indexOf('\0');
      if (nul >= 0) {
        noteOwner = noteOwner.substring(0, nul);
      }
      if (ntype == noteType && noteOwner.equals(owner)) {
        byte[] desc = new byte[(int) descsz];
        b.get((int) descStart, desc);
        return Optional.of(desc);
      }
      pos = (int) next;
    }
    return Optional.empty();
  }

  private static long align4(long v) {
    return (v + 3) & ~3L;
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }

  @Override
  public String toString() {
    return "ElfFile[" + name + "]";
  }

  /**
   * The JVM reports a SIGBUS on a mapped file that shrank under it (truncated or rewritten in place while mapped) as
   * an {@link InternalError}; that one is turned into a {@link GoBinaryFormatException} naming the file, any other
   * internal error is rethrown.
   */
  static GoBinaryFormatException mappedFault(ElfFile elf, String what, InternalError e) {
    if (e.getMessage() == null || !e.getMessage().contains("unsafe memory access")) {
      throw e;
    }
    return elf.error(what + ": the file changed while mapped (truncated or rewritten in place)", e);
  }

  GoBinaryFormatException error(String problem) {
    return new GoBinaryFormatException(name, problem);
  }

  GoBinaryFormatException error(String problem, Throwable cause) {
    return new GoBinaryFormatException(name, problem, cause);
  }

  private int u16(int off) {
    return map.getShort(off) & 0xffff;
  }

  private List<ElfSegment> readSegments() {
    long phoff = map.getLong(32);
    int phentsize = u16(54);
    int phnum = u16(56);
    if (phnum == 0) {
      return List.of();
    }
    if (phnum > MAX_SEGMENTS || phentsize < PHDR_SIZE) {
      throw error("bad program header table (phnum=" + phnum + ", phentsize=" + phentsize + ")");
    }
    ByteBuffer ph = slice(phoff, (long) phnum * phentsize, "program header table");
    List<ElfSegment> out = new ArrayList<>(phnum);
    for (int i = 0; i < phnum; i++) {
      int o = i * phentsize;
      ElfSegment seg =
          new ElfSegment(
              ph.getInt(o),
              ph.getInt(o + 4),
              ph.getLong(o + 8),
              ph.getLong(o + 16),
              ph.getLong(o + 32),
              ph.getLong(o + 40),
              ph.getLong(o + 48));
      if (seg.type() == ElfSegment.PT_LOAD) {
        if (seg.offset() < 0 || seg.filesz() < 0 || seg.offset() > size || seg.filesz() > size - seg.offset()) {
          throw error(String.format("PT_LOAD segment %d (offset 0x%x, filesz 0x%x) extends past the end of the"
              + " file (%d bytes)", i, seg.offset(), seg.filesz(), size));
        }
        if (seg.memsz() < seg.filesz()) {
          throw error("PT_LOAD segment " + i + " has memsz < filesz");
        }
      }
      out.add(seg);
    }
    return Collections.unmodifiableList(out);
  }

  private List<ElfSection> readSections() {
    long shoff = map.getLong(40);
    int shentsize = u16(58);
    long shnum = u16(60);
    int shstrndx = u16(62);
    if (shoff == 0) {
      return List.of();
    }
    if (shentsize < SHDR_SIZE) {
      throw error("bad section header entry size " + shentsize);
    }
    ByteBuffer first = slice(shoff, SHDR_SIZE, "section header 0");
    if (shnum == 0) {
      shnum = first.getLong(32);
    }
    if (shstrndx == 0xffff) {
      shstrndx = first.getInt(40);
    }
    if (shnum <= 0 || shnum > MAX_SECTIONS) {
      throw error("implausible section count " + shnum);
    }
    ByteBuffer sh = slice(shoff, shnum * shentsize, "section header table");
    int n = (int) shnum;
    if (shstrndx >= n) {
      throw error("section name table index " + shstrndx + " out of range (" + n + " sections)");
    }
    int shstrOff = shstrndx * shentsize;
    ByteBuffer names =
        shstrndx == 0 ? ByteBuffer.allocate(0) : slice(sh.getLong(shstrOff + 24), sh.getLong(shstrOff + 32),
            "section name table");
    List<ElfSection> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int o = i * shentsize;
      int type = sh.getInt(o + 4);
      long offset = sh.getLong(o + 24);
      long sz = sh.getLong(o + 32);
      String secName = readCString(names, sh.getInt(o));
      if (type != ElfSection.SHT_NOBITS && type != 0 && (offset < 0 || sz < 0 || offset > size
          || sz > size - offset)) {
        throw error(String.format("section %s (index %d): offset 0x%x size 0x%x extends past the end of the file"
            + " (%d bytes)", secName, i, offset, sz, size));
      }
      out.add(new ElfSection(i, secName, type, sh.getLong(o + 8), sh.getLong(o + 16), offset, sz,
          sh.getInt(o + 40), sh.getInt(o + 44), sh.getLong(o + 56)));
    }
    return Collections.unmodifiableList(out);
  }

  /** Reads a NUL-terminated string at {@code off} in {@code b}; bounded to 64 KiB; "" when out of range. */
  static String readCString(ByteBuffer b, int off) {
    int cap = b.capacity();
    if (off < 0 || off >= cap) {
      return "";
    }
    int end = off;
    int limit = (int) Math.min(cap, off + 65_536L);
    while (end < limit && b.get(end) != 0) {
      end++;
    }
    byte[] bytes = new byte[end - off];
    b.get(off, bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
