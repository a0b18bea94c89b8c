package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code go version -m} shows: the toolchain version, the main module, dependencies and build settings, read
 * from the {@code .go.buildinfo} blob (found by section name or by scanning writable data for the 16-byte-aligned
 * magic {@code "\xff Go buildinf:"}). Supports the pointer format (Go < 1.18) and the inline varint format
 * (flags bit 1, Go ≥ 1.18). Module info may be absent (distribution builds): then only the version is known.
 */
public record GoBuildInfo(
    GoVersion goVersion, @Nullable Module main, List<Module> dependencies, Map<String, String> settings) {

  /** A module path and version, with its replacement when the build replaced it. */
  public record Module(String path, String version, @Nullable Module replacement) {}

  static final byte[] MAGIC = "\u00ff Go buildinf:".getBytes(StandardCharsets.ISO_8859_1);
  private static final int HEADER = 32;
  private static final int MAX_STRING = 1 << 20;
  private static final byte[] MODINFO_START = hex("3077af0c9274080241e1c107e6d618e6");

  public GoBuildInfo {
    requireNonNull(goVersion, "goVersion");
    dependencies = List.copyOf(dependencies);
    settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
  }

  /**
   * Reads the build info, if the binary has the blob.
   *
   * @throws GoBinaryFormatException if the blob is present but corrupt
   */
  public static Optional<GoBuildInfo> read(ElfFile elf) {
    requireNonNull(elf, "elf");
    Optional<ElfSection> sec = elf.section(".go.buildinfo");
    if (sec.isPresent() && sec.get().hasFileData()) {
      return Optional.of(parseBlob(elf, elf.sectionData(sec.get())));
    }
    for (ElfSegment seg : elf.loadSegments()) {
      if (!seg.writable() || seg.filesz() < HEADER) {
        continue;
      }
      ByteBuffer b = elf.scanView(seg, "data segment");
      long alignFix = (16 - (seg.vaddr() & 15)) & 15;
      for (long off = alignFix; off + HEADER <= b.capacity(); off += 16) {
        if (startsWith(b, (int) off, MAGIC)) {
          return Optional.of(parseBlob(elf, b.slice((int) off, b.capacity() - (int) off)));
        }
      }
    }
    return Optional.empty();
  }

  private static GoBuildInfo parseBlob(ElfFile elf, ByteBuffer blob) {
    // Little-endian whatever the caller's view says (a ByteBuffer.slice() of the mapping is big-endian).
    ByteBuffer b = blob.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.capacity() < HEADER || !startsWith(b, 0, MAGIC)) {
      throw elf.error(".go.buildinfo: missing magic");
    }
    int ptrSize = b.get(14);
    int flags = b.get(15);
    if ((flags & 1) != 0) {
      throw elf.error(".go.buildinfo: big-endian build info not supported");
    }
    String version;
    String modinfo;
    if ((flags & 2) != 0) {
      int[] pos = {HEADER};
      version = varintString(elf, b, pos);
      modinfo = varintString(elf, b, pos);
    } else {
      if (ptrSize != 8) {
        throw elf.error(".go.buildinfo: pointer size " + ptrSize + " not supported");
      }
      AddressSpace space = elf.addressSpace();
      version = goStringAt(elf, space, b.getLong(16));
      modinfo = goStringAt(elf, space, b.getLong(24));
    }
    return fromStrings(elf, version, modinfo);
  }

  /**
   * Fallback for binaries without the blob (seen in some third-party releases): the version from
   * {@code runtime.buildVersion} (by symbol, else a string header in writable data pointing at "go1...." text) and
   * the module info from the sentinel-framed {@code runtime.modinfo} text in read-only data.
   */
  public static Optional<GoBuildInfo> fromRuntimeStrings(ElfFile elf) {
    requireNonNull(elf, "elf");
    String version = runtimeBuildVersion(elf);
    if (version == null) {
      return Optional.empty();
    }
    String modinfo = "";
    for (ElfSegment seg : elf.loadSegments()) {
      if (seg.executable() || seg.filesz() < 64) {
        continue;
      }
      ByteBuffer b = elf.scanView(seg, "segment");
      int at = indexOf(b, MODINFO_START, 0);
      if (at >= 0) {
        int end = Math.min(b.capacity(), at + MAX_STRING);
        int stop = at + 16;
        while (stop < end && b.get(stop) != (byte) 0xf9) {
          stop++;
        }
        byte[] text = new byte[stop - at - 16];
        b.get(at + 16, text);
        modinfo = new String(text, StandardCharsets.UTF_8);
        break;
      }
    }
    return Optional.of(fromStrings(elf, version, modinfo));
  }

  private static String runtimeBuildVersion(ElfFile elf) {
    AddressSpace space = elf.addressSpace();
    Optional<ElfSymbol> sym = elf.symbol("runtime.buildVersion");
    if (sym.isPresent()) {
      ByteBuffer hdr = space.read(sym.get().value(), 16);
      return goString(elf, space, hdr.getLong(0), hdr.getLong(8));
    }
    // Candidate "go1." strings in read-only data, then a (ptr, len) header in writable data pointing at one.
    List<Long> addrs = new ArrayList<>();
    byte[] go1 = "go1.".getBytes(StandardCharsets.US_ASCII);
    for (ElfSegment seg : elf.loadSegments()) {
      if (seg.executable() || seg.writable()) {
        continue;
      }
      ByteBuffer b = elf.scanView(seg, "segment");
      for (int at = indexOf(b, go1, 0); at >= 0 && addrs.size() < 256; at = indexOf(b, go1, at + 1)) {
        if (at + 4 < b.capacity() && Character.isDigit(b.get(at + 4))) {
          addrs.add(seg.vaddr() + at);
        }
      }
    }
    if (addrs.isEmpty()) {
      return null;
    }
    java.util.Set<Long> set = new java.util.HashSet<>(addrs);
    for (ElfSegment seg : elf.loadSegments()) {
      if (!seg.writable() || seg.filesz() < 16) {
        continue;
      }
      ByteBuffer b = elf.scanView(seg, "data segment");
      for (int off = 0; off + 16 <= b.capacity(); off += 8) {
        long p = b.getLong(off);
        if (set.contains(p)) {
          long len = b.getLong(off + 8);
          if (len >= 5 && len <= 64) {
            String s = goString(elf, space, p, len);
            if (s.matches("go1\\.\\d+(\\.\\d+)?((rc|beta)\\d+)?( .*)?")) {
              return s;
            }
          }
        }
      }
    }
    return null;
  }

  private static GoBuildInfo fromStrings(ElfFile elf, String version, String modinfo) {
    GoVersion v = GoVersion.parse(version);
    if (v == null) {
      throw elf.error("build info: unparseable Go version '" + version + "'");
    }
    String mi = modinfo;
    if (mi.length() >= 33 && mi.charAt(mi.length() - 17) == '\n') {
      mi = mi.substring(16, mi.length() - 16);
    }
    Module main = null;
    List<Module> deps = new ArrayList<>();
    Map<String, String> settings = new LinkedHashMap<>();
    String mainPath = null;
    for (String line : mi.split("\n")) {
      String[] f = line.split("\t", -1); // -1: a line of tabs alone must not become an empty array
      switch (f[0]) {
        case "path" -> mainPath = f.length > 1 ? f[1] : null;
        case "mod" -> main = f.length > 2 ? new Module(f[1], f[2], null) : f.length > 1 ? new Module(f[1], "", null)
            : null;
        case "dep" -> {
          if (f.length > 1) {
            deps.add(new Module(f[1], f.length > 2 ? f[2] : "", null));
          }
        }
        case "=>" -> {
          if (f.length > 1 && !deps.isEmpty()) {
            Module last = deps.remove(deps.size() - 1);
            deps.add(new Module(last.path(), last.version(), new Module(f[1], f.length > 2 ? f[2] : "", null)));
          }
        }
        case "build" -> {
          if (f.length > 1) {
            int eq = f[1].indexOf('=');
            if (eq > 0) {
              settings.put(f[1].substring(0, eq), f[1].substring(eq + 1));
            }
          }
        }
        default -> {
          // ignore unknown lines
        }
      }
    }
    if (main == null && mainPath != null) {
      main = new Module(mainPath, "", null);
    }
    return new GoBuildInfo(v, main, deps, settings);
  }

  /** The {@code path} line (main package path) is folded into {@link #main()} when there is no {@code mod} line. */
  public Optional<Module> mainModule() {
    return Optional.ofNullable(main);
  }

  private static String varintString(ElfFile elf, ByteBuffer b, int[] pos) {
    long len = 0;
    int shift = 0;
    while (true) {
      if (pos[0] >= b.capacity() || shift > 35) {
        throw elf.error(".go.buildinfo: truncated varint");
      }
      int c = b.get(pos[0]++) & 0xff;
      len |= (long) (c & 0x7f) << shift;
      if ((c & 0x80) == 0) {
        break;
      }
      shift += 7;
    }
    if (len > MAX_STRING || pos[0] + len > b.capacity()) {
      throw elf.error(".go.buildinfo: string of " + len + " bytes runs past the blob");
    }
    byte[] s = new byte[(int) len];
    b.get(pos[0], s);
    pos[0] += (int) len;
    return new String(s, StandardCharsets.UTF_8);
  }

  private static String goStringAt(ElfFile elf, AddressSpace space, long headerAddr) {
    if (headerAddr == 0) {
      return "";
    }
    ByteBuffer hdr = space.read(headerAddr, 16);
    return goString(elf, space, hdr.getLong(0), hdr.getLong(8));
  }

  private static String goString(ElfFile elf, AddressSpace space, long ptr, long len) {
    if (len == 0) {
      return "";
    }
    if (len < 0 || len > MAX_STRING) {
      throw elf.error(String.format("implausible Go string length %d at 0x%x", len, ptr));
    }
    ByteBuffer s = space.read(ptr, (int) len);
    byte[] out = new byte[(int) len];
    s.get(0, out);
    return new String(out, StandardCharsets.UTF_8);
  }

  static boolean startsWith(ByteBuffer b, int at, byte[] prefix) {
    if (at < 0 || at + prefix.length > b.capacity()) {
      return false;
    }
    for (int k = 0; k < prefix.length; k++) {
      if (b.get(at + k) != prefix[k]) {
        return false;
      }
    }
    return true;
  }

  static int indexOf(ByteBuffer b, byte[] needle, int from) {
    int last = b.capacity() - needle.length;
    byte first = needle[0];
    for (int i = Math.max(0, from); i <= last; i++) {
      if (b.get(i) == first && startsWith(b, i, needle)) {
        return i;
      }
    }
    return -1;
  }

  private static byte[] hex(String s) {
    return java.util.HexFormat.of().parseHex(s);
  }
}
