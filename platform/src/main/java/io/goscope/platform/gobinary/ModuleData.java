package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The linker-written {@code runtime.firstmoduledata}: where the text, the type data ({@code types}..{@code etypes})
 * and the type links are. Located by the {@code runtime.firstmoduledata} symbol, the {@code .go.module} section
 * (Go 1.26+), or by scanning writable data for a pointer to the pclntab header (the first word of moduledata since
 * Go 1.16; the pclntable slice pointer before). The field layout is chosen per Go version from {@link Layout#ALL}
 * and confirmed by plausibility checks (ftab length equals the pclntab's function count + 1, slices have len == cap,
 * ranges are ordered and inside the image).
 */
public final class ModuleData {
  private static final Logger LOG = LoggerFactory.getLogger(ModuleData.class);
  private static final int MAX_TYPELINKS = 1 << 21;
  private static final int MAX_SCAN_CANDIDATES = 64;

  /**
   * Byte offsets of the moduledata fields we read, for 64-bit targets, per range of Go releases. From
   * {@code runtime/symtab.go} of each release: 1.16 put a {@code *pcHeader} first, 1.18 added {@code rodata} and
   * {@code gofunc} after {@code etypes}, 1.20 added {@code covctrs, ecovctrs} before {@code end}, 1.26 added
   * {@code epclntab} after {@code gofunc}.
   */
  public record Layout(
      String name, GoVersion since, int pclntable, int ftab, int minpc, int text, int etext, int types,
      int etypes, int rodata, int typelinks, int itablinks) {
    public static final Layout GO_1_10 = new Layout("go1.10-1.15", GoVersion.of(1, 10, 0), 0, 24, 80, 96, 104,
        200, 208, -1, 240, 264);
    public static final Layout GO_1_16 = new Layout("go1.16-1.17", GoVersion.of(1, 16, 0), 104, 128, 160, 176,
        184, 280, 288, -1, 320, 344);
    public static final Layout GO_1_18 = new Layout("go1.18-1.19", GoVersion.of(1, 18, 0), 104, 128, 160, 176,
        184, 280, 288, 296, 336, 360);
    public static final Layout GO_1_20 = new Layout("go1.20-1.25", GoVersion.of(1, 20, 0), 104, 128, 160, 176,
        184, 296, 304, 312, 352, 376);
    public static final Layout GO_1_26 = new Layout("go1.26+", GoVersion.of(1, 26, 0), 104, 128, 160, 176,
        184, 296, 304, 312, 360, 384);
    public static final List<Layout> ALL = List.of(GO_1_10, GO_1_16, GO_1_18, GO_1_20, GO_1_26);

    /** Bytes to read to cover every field used. */
    int span() {
      return itablinks + 24;
    }
  }

  private final long address;
  private final Layout layout;
  private final GoVersion goVersion;
  private final ByteBuffer raw;
  private final AddressSpace space;
  private final String how;

  private ModuleData(long address, Layout layout, GoVersion goVersion, ByteBuffer raw, AddressSpace space,
      String how) {
    this.address = address;
    this.layout = layout;
    this.goVersion = goVersion;
    this.raw = raw;
    this.space = space;
    this.how = how;
  }

  /**
   * Finds and reads the first module data.
   *
   * @param version the binary's Go version when known (from build info), else null: the layout is then chosen from
   *     the pclntab format and the plausibility checks
   * @throws GoBinaryFormatException if no plausible moduledata is found
   */
  public static ModuleData locate(ElfFile elf, Pclntab pclntab, GoVersion version) {
    return locate(elf, pclntab, version, true);
  }

  static ModuleData locate(ElfFile elf, Pclntab pclntab, GoVersion version, boolean useSymbol) {
    requireNonNull(elf, "elf");
    requireNonNull(pclntab, "pclntab");
    ElfAddressSpace space = elf.elfAddressSpace();
    List<Layout> layouts = candidateLayouts(pclntab, version);
    Optional<ElfSymbol> sym = useSymbol ? elf.symbol("runtime.firstmoduledata") : Optional.empty();
    if (sym.isPresent()) {
      ModuleData md = tryAt(space, sym.get().value(), layouts, pclntab, version, "symbol runtime.firstmoduledata");
      if (md != null) {
        return md;
      }
    }
    Optional<ElfSection> sec = elf.section(".go.module");
    if (sec.isPresent()) {
      ModuleData md = tryAt(space, sec.get().addr(), layouts, pclntab, version, "section .go.module");
      if (md != null) {
        return md;
      }
    }
    long target = pclntab.vaddr();
    List<Long> candidates = new ArrayList<>();
    for (ElfSegment seg : space.loads()) {
      if (!seg.writable() || seg.filesz() < 8) {
        continue;
      }
      ByteBuffer b = elf.scanView(seg, "data segment");
      int limit = b.capacity() - 8;
      for (int off = 0; off <= limit && candidates.size() < MAX_SCAN_CANDIDATES; off += 8) {
        if (b.getLong(off) == target) {
          candidates.add(seg.vaddr() + off);
        }
      }
    }
    for (long site : space.relocationSitesWithAddend(target, MAX_SCAN_CANDIDATES)) {
      if (!candidates.contains(site)) {
        candidates.add(site);
      }
    }
    for (long c : candidates) {
      ModuleData md = tryAt(space, c, layouts, pclntab, version, "scan for pclntab pointer");
      if (md != null) {
        return md;
      }
    }
    throw elf.error(String.format("moduledata not found (%d pointer(s) to the pclntab at 0x%x, none plausible for"
        + " layouts %s)", candidates.size(), target, layouts.stream().map(Layout::name).toList()));
  }

  static List<Layout> candidateLayouts(Pclntab pclntab, GoVersion version) {
    return switch (pclntab.magic()) {
      case Pclntab.MAGIC_12 -> List.of(Layout.GO_1_10);
      case Pclntab.MAGIC_116 -> List.of(Layout.GO_1_16);
      case Pclntab.MAGIC_118 -> List.of(Layout.GO_1_18);
      default -> version != null && version.atLeast(1, 26)
          ? List.of(Layout.GO_1_26, Layout.GO_1_20)
          : List.of(Layout.GO_1_20, Layout.GO_1_26);
    };
  }

  private static ModuleData tryAt(ElfAddressSpace space, long addr, List<Layout> layouts, Pclntab pclntab,
      GoVersion version, String how) {
    for (Layout l : layouts) {
      if (!space.contains(addr, l.span())) {
        continue;
      }
      ByteBuffer raw = space.read(addr, l.span());
      String why = implausible(space, raw, l, pclntab);
      if (why == null) {
        GoVersion v = version != null ? version : l.since();
        LOG.debug("moduledata found address=0x{} layout={} via={}", Long.toHexString(addr), l.name(), how);
        return new ModuleData(addr, l, v, raw, space, how);
      }
      LOG.debug("moduledata candidate rejected address=0x{} layout={} reason={}", Long.toHexString(addr), l.name(),
          why);
    }
    return null;
  }

  private static String implausible(AddressSpace space, ByteBuffer b, Layout l, Pclntab pclntab) {
    long ftabLen = b.getLong(l.ftab() + 8);
    if (ftabLen != pclntab.functionCount() + 1L || b.getLong(l.ftab() + 16) != ftabLen) {
      return "ftab length " + ftabLen + " != nfunc+1 " + (pclntab.functionCount() + 1L);
    }
    long text = b.getLong(l.text());
    long etext = b.getLong(l.etext());
    long minpc = b.getLong(l.minpc());
    if (text == 0 || text > etext || minpc < text || minpc > etext) {
      return "text range";
    }
    long types = b.getLong(l.types());
    long etypes = b.getLong(l.etypes());
    if (types == 0 || types > etypes || !space.contains(types, etypes - types)) {
      return "types range";
    }
    for (int slice : new int[] {l.typelinks(), l.itablinks()}) {
      long ptr = b.getLong(slice);
      long len = b.getLong(slice + 8);
      long cap = b.getLong(slice + 16);
      int elem = slice == l.typelinks() ? 4 : 8;
      if (len != cap || len < 0 || len > MAX_TYPELINKS || (len > 0 && !space.contains(ptr, len * elem))) {
        return "slice at +" + slice;
      }
    }
    return null;
  }

  /** Link-time address of the moduledata. */
  public long address() {
    return address;
  }

  /** The field layout used. */
  public Layout layout() {
    return layout;
  }

  /** The Go version the layout was picked for (the build's version when known, else the layout's first release). */
  public GoVersion goVersion() {
    return goVersion;
  }

  /** How it was found (symbol, section or scan), for provenance. */
  public String foundBy() {
    return how;
  }

  public long text() {
    return raw.getLong(layout.text());
  }

  /** Same as {@link #text()}: the base that Go ≥ 1.18 function entry offsets are relative to. */
  public long textStart() {
    return text();
  }

  public long etext() {
    return raw.getLong(layout.etext());
  }

  public long minpc() {
    return raw.getLong(layout.minpc());
  }

  /** Start of the runtime type data; typelinks and type offsets are relative to it. */
  public long types() {
    return raw.getLong(layout.types());
  }

  public long etypes() {
    return raw.getLong(layout.etypes());
  }

  /** {@code moduledata.rodata} (Go ≥ 1.18), else empty. */
  public Optional<Long> rodata() {
    return layout.rodata() < 0 ? Optional.empty() : Optional.of(raw.getLong(layout.rodata()));
  }

  public long typelinksAddress() {
    return raw.getLong(layout.typelinks());
  }

  public int typelinksCount() {
    return (int) raw.getLong(layout.typelinks() + 8);
  }

  /** The type links: offsets from {@link #types()} of each runtime type descriptor (bounded). */
  public int[] typelinks() {
    int n = typelinksCount();
    int[] out = new int[n];
    if (n > 0) {
      space.read(typelinksAddress(), n * 4).asIntBuffer().get(out);
    }
    return out;
  }

  /** Addresses of the itab descriptors (bounded). */
  public long[] itablinks() {
    long ptr = raw.getLong(layout.itablinks());
    int n = (int) raw.getLong(layout.itablinks() + 8);
    long[] out = new long[n];
    if (n > 0) {
      space.read(ptr, n * 8).asLongBuffer().get(out);
    }
    return out;
  }

  @Override
  public String toString() {
    return String.format("ModuleData[0x%x, layout=%s, text=0x%x, types=0x%x..0x%x, typelinks=%d, via %s]", address,
        layout.name(), text(), types(), etypes(), typelinksCount(), how);
  }
}
