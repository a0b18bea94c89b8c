package io.goscope.platform.gobinary.fuzz;

import io.goscope.api.StructField;
import io.goscope.platform.cli.NetHttpProbeSetFixture;
import io.goscope.platform.gobinary.DwarfStructs;
import io.goscope.platform.gobinary.ElfFile;
import io.goscope.platform.gobinary.ElfSection;
import io.goscope.platform.gobinary.ElfSegment;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.GoBinaryFormatException;
import io.goscope.platform.gobinary.GoBuildInfo;
import io.goscope.platform.gobinary.GoVersion;
import io.goscope.platform.gobinary.ModuleData;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.platform.gobinary.OffsetTableFormatException;
import io.goscope.platform.gobinary.Pclntab;
import io.goscope.platform.gobinary.TypeMetadata;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The fuzz targets, shared by the Jazzer tests ({@link ParserFuzzTest}) and the bounded in-suite run
 * ({@link BoundedMutationTest}). Each takes the raw fuzzer input, drives one parser over a mutated real seed and
 * lets only the parser's typed exception ({@link GoBinaryFormatException}, or {@link OffsetTableFormatException} for
 * tables) escape as "rejected"; anything else is a finding.
 */
final class FuzzTargets {
  static final String SERVE_HTTP = NetHttpProbeSetFixture.SERVE_HTTP;
  static final List<StructField> FIELDS = NetHttpProbeSetFixture.allFields();
  static final Path WORK = Path.of("target/fuzz-work").toAbsolutePath();

  /**
   * One target: a name, the exception type that means "input rejected", the body, and the percentage of the bounded
   * run's iterations it gets (the whole-type-graph walks cost ~40 ms per input, the others ~3 ms).
   */
  record Target(String name, Class<? extends RuntimeException> rejection, Consumer<byte[]> body, int share) {
    Target(String name, Class<? extends RuntimeException> rejection, Consumer<byte[]> body) {
      this(name, rejection, body, 100);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static final List<Target> ALL = List.of(
      new Target("elfRaw", GoBinaryFormatException.class, FuzzTargets::elfRaw),
      new Target("elfPatched", GoBinaryFormatException.class, FuzzTargets::elfPatched),
      new Target("pclntab", GoBinaryFormatException.class, FuzzTargets::pclntab),
      new Target("buildInfo", GoBinaryFormatException.class, FuzzTargets::buildInfo),
      new Target("dwarf", GoBinaryFormatException.class, FuzzTargets::dwarf),
      new Target("typeMetadata", GoBinaryFormatException.class, FuzzTargets::typeMetadata, 30),
      new Target("offsetTable", OffsetTableFormatException.class, FuzzTargets::offsetTable),
      new Target("wholeBinary", GoBinaryFormatException.class, FuzzTargets::wholeBinary, 30));

  private static final Map<String, FileChannel> WORK_FILES = new HashMap<>();
  private static final Map<String, Object> CACHE = new HashMap<>();

  private FuzzTargets() {}

  // --- targets ----------------------------------------------------------------------------------------------------

  /** The input is a whole file. */
  static void elfRaw(byte[] data) {
    Path p = WORK.resolve("raw.bin");
    write(p, data);
    try (ElfFile elf = ElfFile.open(p)) {
      exercise(elf, false);
    }
    GoBinary.looksLikeGo(p);
  }

  /** Edits in the headers, section table or a Go section of a real binary, then the ELF layer alone. */
  static void elfPatched(byte[] program) {
    withPatchedSeed(program, (seed, p) -> {
      try (ElfFile elf = ElfFile.open(p)) {
        exercise(elf, program.length > 2 && (program[2] & 0x80) != 0);
      }
      GoBinary.looksLikeGo(p);
    });
  }

  /** A mutated copy of a stripped binary's .gopclntab, parsed and searched. */
  static void pclntab(byte[] program) {
    FuzzSeeds.Seed seed = FuzzSeeds.stripped();
    ElfFile elf = cached("pclntab.elf", () -> ElfFile.open(seed.path()));
    FuzzSeeds.Region r = seed.region(".gopclntab");
    long vaddr = elf.section(".gopclntab").orElseThrow().addr();
    byte[] base = cached("pclntab.bytes", () -> Arrays.copyOfRange(seed.bytes(), (int) r.start(), (int) r.end()));
    byte[] data = Mutation.decode(program, 0, headerBiased(program, base.length), base.length, true).applyTo(base);
    Pclntab t = Pclntab.parse(elf, vaddr, ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN));
    if (t.needsTextStart()) {
      t.useTextStart(0x401000);
    }
    for (String name : List.of(SERVE_HTTP, "main.main", "runtime.mallocgc", "no.such.function")) {
      t.find(name).ifPresent(i -> {
        t.entry(i);
        t.end(i);
        t.name(i);
      });
    }
    int n = t.functionCount();
    for (int i = 0; i < n; i += Math.max(1, n / 16)) {
      t.entry(i);
      t.end(i);
      t.name(i);
    }
    t.minGoVersion();
  }

  /** Edits around .go.buildinfo (and the data it points to) of a real binary, then the build-info readers. */
  static void buildInfo(byte[] program) {
    byte[] p2 = program.length > 0 ? program.clone() : new byte[1];
    p2[0] = (byte) (p2[0] & 0x01); // plain or stripped: both carry .go.buildinfo
    withPatchedSeed(p2, List.of(".go.buildinfo", ".go.buildinfo", "section-headers", ".data", ".noptrdata",
        ".rodata"), (seed, p) -> {
          try (ElfFile elf = ElfFile.open(p)) {
            Optional<GoBuildInfo> bi = GoBuildInfo.read(elf);
            bi.ifPresent(b -> b.mainModule());
            GoBuildInfo.fromRuntimeStrings(elf);
          }
        });
  }

  /** Mutated .debug_info / .debug_abbrev / .debug_str of a real binary, then the struct index and members. */
  static void dwarf(byte[] program) {
    Map<String, byte[]> base = cached("dwarf.sections", FuzzTargets::dwarfSections);
    List<String> names = base.keySet().stream().sorted().toList();
    String name = names.get(program.length > 0 ? (program[0] & 0xff) % names.size() : 0);
    byte[] orig = base.get(name);
    byte[] rest = program.length > 0 ? Arrays.copyOfRange(program, 1, program.length) : program;
    byte[] mutated = Mutation.decode(rest, 0, orig.length, orig.length, true).applyTo(orig);
    Optional<DwarfStructs> maybe = DwarfStructs.of("fuzz-dwarf", n -> {
      byte[] b = n.equals(name) ? mutated : base.get(n);
      return b == null ? Optional.empty() : Optional.of(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN));
    });
    if (maybe.isEmpty()) {
      return; // truncated to nothing: "no DWARF" is a valid answer
    }
    DwarfStructs d = maybe.get();
    for (StructField f : FIELDS) {
      d.offset(f.structType(), f.field());
    }
    d.hasStruct("net/http.Request");
    d.structCount();
  }

  /** Mutated type descriptors / typelinks of a stripped binary, walked from the typelinks. */
  static void typeMetadata(byte[] program) {
    TypeImage img = cached("types.image", FuzzTargets::typeImage);
    int which = program.length > 0 ? (program[0] & 0xff) % 3 : 0;
    long lo;
    long hi;
    if (which == 0) { // the typelinks array
      lo = img.typelinks - img.segVaddr;
      hi = lo + img.typelinkCount * 4L;
    } else if (which == 1) { // a 4 KiB window in the middle of the type data
      lo = Math.max(0, img.middle - img.segVaddr);
      hi = Math.min(img.bytes.length, lo + 4096);
    } else { // anywhere in the type data
      lo = img.types - img.segVaddr;
      hi = img.etypes - img.segVaddr;
    }
    byte[] rest = program.length > 0 ? Arrays.copyOfRange(program, 1, program.length) : program;
    byte[] image = Mutation.decode(rest, lo, hi, img.bytes.length, false).applyTo(img.bytes);
    ByteAddressSpace space = new ByteAddressSpace(img.segVaddr, image);
    int[] links = new int[img.typelinkCount];
    space.read(img.typelinks, links.length * 4).asIntBuffer().get(links);
    TypeMetadata t = new TypeMetadata(space, img.types, img.etypes, links, img.version);
    for (StructField f : FIELDS) {
      t.offset(f.structType(), f.field());
    }
    t.structCount();
  }

  /** YAML text as an offset table; a table that parses must survive its own round trip. */
  static void offsetTable(byte[] data) {
    OffsetTable t = OffsetTable.parse("fuzz.yaml", new StringReader(new String(data, StandardCharsets.UTF_8)));
    for (OffsetTable.Entry e : t.entries()) {
      t.lookup(e.module(), GoVersion.of(1, 19, 8), e.struct(), e.field());
    }
    OffsetTable again = OffsetTable.parse("roundtrip.yaml", new StringReader(t.toYaml("# round trip")));
    List<String> before = withoutLines(t);
    List<String> after = withoutLines(again);
    if (!after.equals(before)) {
      int i = 0;
      while (i < Math.min(before.size(), after.size()) && before.get(i).equals(after.get(i))) {
        i++;
      }
      throw new IllegalStateException("offset table round trip changed entry " + i + ":\n  "
          + (i < before.size() ? before.get(i) : "(none)") + "\n  " + (i < after.size() ? after.get(i) : "(none)"));
    }
  }

  /** The whole analysis path on a patched real binary: open, build info, function + return sites, fields. */
  static void wholeBinary(byte[] program) {
    withPatchedSeed(program, (seed, p) -> {
      try (GoBinary b = GoBinary.open(p)) {
        b.buildInfo();
        b.goVersion();
        b.buildId();
        b.stripped();
        b.functionWithReturns(SERVE_HTTP);
        b.function("main.main");
        b.moduleData();
        OffsetTable table = cached("table", NetHttpProbeSetFixture::bundledTable);
        new FieldResolver(List.of(table), null).resolveAll(b, FIELDS, List.of());
      }
    });
  }

  /** Entries with source line numbers dropped (they differ between a table and its regenerated text). */
  private static List<String> withoutLines(OffsetTable t) {
    return t.entries().stream().map(e -> e.module() + "|" + e.struct() + "|" + e.field() + "|"
        + e.ranges().stream().map(r -> r.from() + "-" + r.to() + "@" + r.offset() + " " + r.provenance()).toList())
        .toList();
  }

  // --- helpers ----------------------------------------------------------------------------------------------------

  /** Exercises every ELF accessor. */
  private static void exercise(ElfFile elf, boolean inflateDwarf) {
    elf.machine();
    elf.isPie();
    for (ElfSection s : elf.sections()) {
      elf.sectionData(s);
      if (s.name().startsWith(".zdebug_abbrev") || (inflateDwarf && s.name().startsWith(".zdebug_"))) {
        elf.sectionDataDecompressed(s, 64 << 20);
      }
    }
    elf.symbol("main.main");
    elf.hasSymtab();
    if (elf.symbols().size() > 20_000_000) {
      throw new IllegalStateException("implausible symbol count");
    }
    elf.goBuildId();
    elf.gnuBuildId();
    for (ElfSegment s : elf.loadSegments()) {
      if (s.filesz() > 0) {
        elf.fileOffsetForVaddr(s.vaddr());
        elf.addressSpace().read(s.vaddr(), (int) Math.min(64, s.filesz()));
      }
    }
  }

  /** Region end biased to the first 4 KiB (the header and function table) for half of the inputs. */
  private static long headerBiased(byte[] program, long length) {
    return program.length > 0 && (program[0] & 1) == 0 ? Math.min(length, 4096) : length;
  }

  interface PatchedBody {
    void run(FuzzSeeds.Seed seed, Path file);
  }

  private static void withPatchedSeed(byte[] program, PatchedBody body) {
    withPatchedSeed(program, null, body);
  }

  /**
   * Picks a seed (program byte 0) and a region (byte 1, from {@code regionNames} when given), applies the rest of
   * the program as edits to a work copy of the seed in place, runs {@code body}, and restores the copy.
   */
  private static synchronized void withPatchedSeed(byte[] program, List<String> regionNames, PatchedBody body) {
    List<FuzzSeeds.Seed> seeds = FuzzSeeds.all();
    FuzzSeeds.Seed seed = seeds.get(program.length > 0 ? (program[0] & 0xff) % seeds.size() : 0);
    int sel = program.length > 1 ? program[1] & 0xff : 0;
    FuzzSeeds.Region region;
    if (regionNames == null) {
      region = seed.region(sel);
    } else {
      String want = regionNames.get(sel % regionNames.size());
      region = seed.regions().stream().filter(r -> r.name().equals(want)).findFirst().orElse(seed.region(0));
    }
    byte[] rest = program.length > 2 ? Arrays.copyOfRange(program, 2, program.length) : new byte[0];
    Mutation m = Mutation.decode(rest, region.start(), region.end(), seed.bytes().length, true);
    FileChannel ch = workFile(seed);
    Runnable restore = m.applyInPlace(ch, seed.bytes());
    try {
      body.run(seed, WORK.resolve(seed.name() + ".bin"));
    } finally {
      restore.run();
    }
  }

  private static FileChannel workFile(FuzzSeeds.Seed seed) {
    return WORK_FILES.computeIfAbsent(seed.name(), n -> {
      try {
        Path p = WORK.resolve(n + ".bin");
        write(p, seed.bytes());
        return FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  private static void write(Path p, byte[] data) {
    try {
      Files.createDirectories(p.getParent());
      Files.write(p, data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static synchronized <T> T cached(String key, java.util.function.Supplier<T> make) {
    Object v = CACHE.get(key);
    if (v == null) {
      v = make.get();
      CACHE.put(key, v);
    }
    return (T) v;
  }

  private static Map<String, byte[]> dwarfSections() {
    Map<String, byte[]> out = new HashMap<>();
    try (ElfFile elf = ElfFile.open(FuzzSeeds.plain().path())) {
      for (String n : List.of(".debug_info", ".debug_abbrev", ".debug_str")) {
        Optional<ElfSection> s = elf.section(n).or(() -> elf.section(".z" + n.substring(1)));
        if (s.isEmpty()) {
          continue; // Go writes no .debug_str: names are inline
        }
        ByteBuffer b = elf.sectionDataDecompressed(s.get(), 256 << 20);
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        out.put(n, a);
      }
    }
    return out;
  }

  /** The read-only segment holding the type data of the stripped seed, as bytes, with the moduledata fields. */
  record TypeImage(long segVaddr, byte[] bytes, long types, long etypes, long typelinks, int typelinkCount,
                   long middle, GoVersion version) {}

  private static TypeImage typeImage() {
    try (GoBinary b = GoBinary.open(FuzzSeeds.stripped().path())) {
      ModuleData md = b.moduleData();
      for (ElfSegment s : b.elf().loadSegments()) {
        if (md.types() >= s.vaddr() && md.etypes() <= s.vaddr() + s.filesz()
            && md.typelinksAddress() >= s.vaddr() && md.typelinksAddress() < s.vaddr() + s.filesz()) {
          byte[] bytes = new byte[(int) s.filesz()];
          b.elf().slice(s.offset(), s.filesz(), "seg").get(bytes);
          return new TypeImage(s.vaddr(), bytes, md.types(), md.etypes(), md.typelinksAddress(),
              md.typelinksCount(), md.types() + (md.etypes() - md.types()) / 2, b.goVersion());
        }
      }
      throw new IllegalStateException("no segment holds the type data of " + b.path());
    }
  }
}
