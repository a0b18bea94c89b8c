package io.goscope.platform.discovery;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A cheap test of whether an executable is a Go binary, for discovery. Reads only the ELF header, the section
 * header table and the section name table; for binaries without section headers, the first 64 KiB of each
 * writable {@code PT_LOAD} segment is searched for the {@code "\xff Go buildinf:"} magic. Never maps or reads the
 * whole file; every size taken from the file is checked against the file size and a fixed bound.
 *
 * <p>Results are cached per {@link ExecutableKey} (device, inode, mtime) in a bounded LRU cache. Thread-safe.
 * Full Go binary parsing lives in {@code io.goscope.platform.gobinary}.
 */
public final class GoDetector {
  /** Default number of executables remembered. */
  public static final int DEFAULT_CACHE_SIZE = 4096;

  static final int MAX_SECTIONS = 4096;
  static final int MAX_SHSTRTAB_BYTES = 64 * 1024;
  static final int MAX_PROGRAM_HEADERS = 256;
  static final int BUILDINFO_SCAN_BYTES = 64 * 1024;

  private static final byte[] BUILDINFO_MAGIC = "\u00ff Go buildinf:".getBytes(StandardCharsets.ISO_8859_1);
  private static final int PT_LOAD = 1;
  private static final int PF_W = 2;

  private final Map<ExecutableKey, Boolean> cache;

  public GoDetector() {
    this(DEFAULT_CACHE_SIZE);
  }

  public GoDetector(int maxEntries) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
    }
    this.cache = new LinkedHashMap<>(64, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<ExecutableKey, Boolean> eldest) {
        return size() > maxEntries;
      }
    };
  }

  /**
   * Whether the file with this key is a Go binary, from the cache or by reading {@code file}. Empty when the file
   * vanished (the process exited); failures other than that raise {@link ProcFsException}.
   */
  public Optional<Boolean> isGoBinary(Path file, ExecutableKey key) {
    requireNonNull(file, "file");
    requireNonNull(key, "key");
    synchronized (cache) {
      Boolean known = cache.get(key);
      if (known != null) {
        return Optional.of(known);
      }
    }
    boolean go;
    try {
      go = inspect(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new ProcFsException("inspect executable " + file + ": " + e, e);
    }
    synchronized (cache) {
      cache.put(key, go);
    }
    return Optional.of(go);
  }

  /** Number of cached verdicts. */
  public int cacheSize() {
    synchronized (cache) {
      return cache.size();
    }
  }

  /**
   * Uncached check. Files that are not ELF, are truncated or are malformed give {@code false}; only I/O errors
   * (including a vanished file) throw.
   */
  public static boolean inspect(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      return inspect(ch);
    }
  }

  static boolean inspect(FileChannel ch) throws IOException {
    long size = ch.size();
    ByteBuffer ident = read(ch, 0, 64, size);
    if (ident == null || ident.getInt(0) != 0x7f454c46) { // "\x7fELF", read big-endian
      return false;
    }
    boolean is64 = ident.get(4) == 2;
    if (!is64 && ident.get(4) != 1) {
      return false;
    }
    ByteOrder order = ident.get(5) == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    ByteBuffer eh = ident.order(order);
    long phoff = is64 ? eh.getLong(0x20) : Integer.toUnsignedLong(eh.getInt(0x1c));
    long shoff = is64 ? eh.getLong(0x28) : Integer.toUnsignedLong(eh.getInt(0x20));
    int phentsize = Short.toUnsignedInt(eh.getShort(is64 ? 0x36 : 0x2a));
    int phnum = Short.toUnsignedInt(eh.getShort(is64 ? 0x38 : 0x2c));
    int shentsize = Short.toUnsignedInt(eh.getShort(is64 ? 0x3a : 0x2e));
    int shnum = Short.toUnsignedInt(eh.getShort(is64 ? 0x3c : 0x30));
    int shstrndx = Short.toUnsignedInt(eh.getShort(is64 ? 0x3e : 0x32));
    if (hasGoSection(ch, size, order, is64, shoff, shentsize, shnum, shstrndx)) {
      return true;
    }
    return hasBuildInfoMagic(ch, size, order, is64, phoff, phentsize, phnum);
  }

  private static boolean hasGoSection(FileChannel ch, long size, ByteOrder order, boolean is64, long shoff,
      int shentsize, int shnum, int shstrndx) throws IOException {
    int minEntry = is64 ? 64 : 40;
    if (shoff <= 0 || shnum == 0 || shnum > MAX_SECTIONS || shentsize < minEntry || shentsize > 256 || shstrndx >= shnum) {
      return false;
    }
    ByteBuffer table = read(ch, shoff, (long) shnum * shentsize, size);
    if (table == null) {
      return false;
    }
    table.order(order);
    int strBase = shstrndx * shentsize;
    long strOff = is64 ? table.getLong(strBase + 0x18) : Integer.toUnsignedLong(table.getInt(strBase + 0x10));
    long strSize = is64 ? table.getLong(strBase + 0x20) : Integer.toUnsignedLong(table.getInt(strBase + 0x14));
    if (strSize <= 0 || strSize > MAX_SHSTRTAB_BYTES) {
      return false;
    }
    ByteBuffer names = read(ch, strOff, strSize, size);
    if (names == null) {
      return false;
    }
    for (int i = 0; i < shnum; i++) {
      int name = table.getInt(i * shentsize);
      String section = cString(names, name);
      if (".go.buildinfo".equals(section) || ".gopclntab".equals(section) || ".note.go.buildid".equals(section)
          || ".data.rel.ro.gopclntab".equals(section)) {
        return true;
      }
    }
    return false;
  }

  private static boolean hasBuildInfoMagic(FileChannel ch, long size, ByteOrder order, boolean is64, long phoff,
      int phentsize, int phnum) throws IOException {
    int minEntry = is64 ? 56 : 32;
    if (phoff <= 0 || phnum == 0 || phnum > MAX_PROGRAM_HEADERS || phentsize < minEntry || phentsize > 256) {
      return false;
    }
    ByteBuffer table = read(ch, phoff, (long) phnum * phentsize, size);
    if (table == null) {
      return false;
    }
    table.order(order);
    for (int i = 0; i < phnum; i++) {
      int base = i * phentsize;
      int type = table.getInt(base);
      int flags = table.getInt(base + (is64 ? 4 : 24));
      if (type != PT_LOAD || (flags & PF_W) == 0) {
        continue;
      }
      long offset = is64 ? table.getLong(base + 8) : Integer.toUnsignedLong(table.getInt(base + 4));
      long filesz = is64 ? table.getLong(base + 32) : Integer.toUnsignedLong(table.getInt(base + 16));
      if (offset < 0 || filesz <= 0 || offset >= size) {
        continue;
      }
      long length = Math.min(Math.min(filesz, BUILDINFO_SCAN_BYTES), size - offset);
      ByteBuffer data = read(ch, offset, length, size);
      if (data != null && containsAligned(data, BUILDINFO_MAGIC, 16)) {
        return true;
      }
    }
    return false;
  }

  static boolean containsAligned(ByteBuffer data, byte[] needle, int alignment) {
    outer:
    for (int at = 0; at + needle.length <= data.limit(); at += alignment) {
      for (int j = 0; j < needle.length; j++) {
        if (data.get(at + j) != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private static String cString(ByteBuffer names, int offset) {
    if (offset < 0 || offset >= names.limit()) {
      return "";
    }
    int end = offset;
    while (end < names.limit() && names.get(end) != 0 && end - offset < 64) {
      end++;
    }
    byte[] bytes = new byte[end - offset];
    names.get(offset, bytes);
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }

  /** Reads exactly {@code length} bytes at {@code offset}, or null when that range is not inside the file. */
  private static ByteBuffer read(FileChannel ch, long offset, long length, long size) throws IOException {
    if (offset < 0 || length <= 0 || length > Integer.MAX_VALUE || offset > size - length) {
      return null;
    }
    ByteBuffer buf = ByteBuffer.allocate((int) length);
    while (buf.hasRemaining()) {
      if (ch.read(buf, offset + buf.position()) < 0) {
        return null;
      }
    }
    return buf.flip();
  }
}
