package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.StructField;
import io.goscope.platform.cli.NetHttpProbeSetFixture;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.TestBinaries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Moduledata layouts nobody has seen: the moduledata of real stripped binaries (Go 1.19, 1.26.8 and the newest
 * release) rewritten in a copy with fields inserted, moved, removed and preceded by decoys, as a future release might
 * lay them out. Discovery must find the same text range, type data, type links and itabs as in the original, at the
 * new places, and the struct offsets read through them must not change. Where an invariant cannot hold (no ftab, no
 * type links), the failure names the invariant and what was found, and fields fall back to the tables.
 */
class ModuleDataDiscoveryTest {
  static final Path SRC = Path.of("src/test/resources/gobinary/httpserver");
  static final Path OUT = Path.of("target/moduledata-synthetic");

  /** A base binary: a stripped build and its unstripped twin (same addresses) for the moduledata's place and size. */
  record Base(String name, Path stripped, Path twin) {
    @Override
    public String toString() {
      return name;
    }
  }

  @TempDir Path tmp;

  @BeforeAll
  static void needGo() {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
  }

  static Base base(String which) {
    GoToolchain tc = switch (which) {
      case "go1.19" -> GoToolchain.installed();
      case "go1.26" -> GoToolchain.modules().orElseGet(() -> {
        TestBinaries.requireGoToolchains();
        throw new AssertionError("unreachable");
      });
      default -> TestBinaries.goRelease(TestBinaries.NEWEST_GO);
    };
    Path dir = OUT.resolve(tc.version());
    Path twin = GoBuilder.build(tc, SRC, dir.resolve("default"), List.of(), Map.of());
    Path stripped = GoBuilder.build(tc, SRC, dir.resolve("stripped"), List.of("-ldflags=-s -w"), Map.of());
    return new Base(tc.version(), stripped, twin);
  }

  /** The moduledata as named blocks of words: the fields discovery places, and runs of other words between them. */
  static final class Layout {
    final List<String> names = new ArrayList<>();
    final List<long[]> blocks = new ArrayList<>();
    final int words;

    Layout(long[] w, Map<String, Integer> known) {
      words = w.length;
      Map<Integer, String> at = new LinkedHashMap<>();
      known.forEach((name, off) -> at.put(off / 8, name));
      int filler = 0;
      int i = 0;
      while (i < w.length) {
        String name = at.get(i);
        if (name != null) {
          int width = List.of("ftab", "typelinks", "itablinks").contains(name) ? 3 : 1;
          if (name.equals("minpc") || name.equals("text")) {
            width = 2; // minpc, maxpc and text, etext stay pairs: a pair is one declaration in Go
          }
          add(name, w, i, width);
          i += width;
        } else {
          int j = i;
          while (j < w.length && !at.containsKey(j)) {
            j++;
          }
          add("other" + filler++, w, i, j - i);
          i = j;
        }
      }
    }

    private void add(String name, long[] w, int from, int n) {
      names.add(name);
      long[] b = new long[n];
      System.arraycopy(w, from, b, 0, n);
      blocks.add(b);
    }

    Layout move(String name, String before) {
      int i = names.indexOf(name);
      String n = names.remove(i);
      long[] b = blocks.remove(i);
      int j = names.indexOf(before);
      names.add(j, n);
      blocks.add(j, b);
      return this;
    }

    Layout insertAfter(String after, String name, long... words) {
      int j = names.indexOf(after) + 1;
      names.add(j, name);
      blocks.add(j, words);
      return this;
    }

    Layout remove(String name) {
      int i = names.indexOf(name);
      names.remove(i);
      blocks.remove(i);
      return this;
    }

    long[] block(String name) {
      return blocks.get(names.indexOf(name));
    }

    /** Byte offset of a block in the rewritten layout. */
    int offsetOf(String name) {
      int off = 0;
      for (int i = 0; i < names.size(); i++) {
        if (names.get(i).equals(name)) {
          return off;
        }
        off += blocks.get(i).length * 8;
      }
      return -1;
    }

    /** The words, trimmed (from the trailing runs of other words) or zero-padded to the original size. */
    long[] flatten() {
      List<Long> out = new ArrayList<>();
      blocks.forEach(b -> {
        for (long x : b) {
          out.add(x);
        }
      });
      for (int i = out.size() - 1; out.size() > words && i >= 0; i--) {
        if (isTrailingOther(i)) {
          out.remove(i);
        }
      }
      assertTrue(out.size() <= words, "rewritten moduledata does not fit: " + out.size() + " > " + words);
      long[] w = new long[words];
      for (int i = 0; i < out.size(); i++) {
        w[i] = out.get(i);
      }
      return w;
    }

    private boolean isTrailingOther(int wordIndex) {
      int off = 0;
      for (int i = 0; i < names.size(); i++) {
        int n = blocks.get(i).length;
        if (wordIndex < off + n) {
          return names.get(i).startsWith("other") && i > names.indexOf("etypes") && i > names.indexOf("types");
        }
        off += n;
      }
      return false;
    }
  }

  /**
   * The original moduledata of {@code base}: its address as discovered in the untouched stripped binary (the data
   * of a stripped build may sit elsewhere than in its twin; GoBinaryMatrixTest checks discovery against the symbol),
   * its words (as many as the twin's {@code runtime.firstmoduledata} symbol is long).
   */
  record Original(long address, long fileOffset, long[] words, ModuleData md) {}

  static Original original(Base base) {
    try (GoBinary twin = GoBinary.open(base.twin()); GoBinary b = GoBinary.open(base.stripped())) {
      ElfSymbol sym = twin.elf().symbol("runtime.firstmoduledata").orElseThrow();
      ModuleData md = b.moduleData();
      long[] w = new long[(int) sym.size() / 8];
      b.addressSpace().read(md.address(), w.length * 8).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(w);
      return new Original(md.address(), b.elf().fileOffsetForVaddr(md.address()), w, md);
    }
  }

  /** A copy of the stripped binary with its moduledata replaced by {@code words}. */
  Path rewritten(Base base, Original o, long[] words, String name) throws IOException {
    Path copy = Files.copy(base.stripped(), tmp.resolve(base.name() + "-" + name));
    ByteBuffer b = ByteBuffer.allocate(words.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(words);
    try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
      ch.write(b, o.fileOffset());
    }
    return copy;
  }

  static Stream<Arguments> transformations() {
    List<Arguments> out = new ArrayList<>();
    for (String base : List.of("go1.19", "go1.26", "newest")) {
      for (String t : TRANSFORMS.keySet()) {
        out.add(Arguments.of(base, t));
      }
    }
    return out.stream();
  }

  /** Ways a future release might lay the moduledata out. */
  static final Map<String, UnaryOperator<Layout>> TRANSFORMS = new LinkedHashMap<>();

  static {
    // New fields: a pair of pointers into the text after etext (like covctrs in 1.20), a word after types (like
    // typedesclen in 1.27), and a slice before ftab.
    TRANSFORMS.put("inserted", l -> l
        .insertAfter("text", "new-pair", l.block("text")[0] + 64, l.block("text")[1] - 64)
        .insertAfter("types", "new-word", 24)
        .insertAfter("pcHeader", "new-slice", l.block("pcHeader")[0] + 8, 100, 100));
    // Blocks in another order: type data first, text last, the type links before the function table.
    TRANSFORMS.put("moved", l -> {
      String links = l.names.contains("typelinks") ? "typelinks" : "itaboffset";
      l.move("types", "ftab").move("etypes", "ftab").move(links, "ftab").move("text", "other0");
      if (l.names.contains("typedesclen")) {
        l.move("typedesclen", "etypes").move("itabsize", "ftab");
      } else {
        l.move("itablinks", "ftab");
      }
      return l;
    });
    // Decoys before each real field: an ftab-like slice one entry short, a text-like pair off by 16, a type range
    // off by one descriptor, a typelinks-like slice of garbage.
    TRANSFORMS.put("decoys", l -> {
      long[] ftab = l.block("ftab");
      long[] text = l.block("text");
      long types = l.block("types")[0];
      return l
          .insertAfter("pcHeader", "decoy-ftab", ftab[0], ftab[1] - 1, ftab[2] - 1)
          .insertAfter("decoy-ftab", "decoy-text", text[0] + 16, text[1])
          .insertAfter("decoy-text", "decoy-types", types + 48, types + 4096)
          .insertAfter("decoy-types", "decoy-links", ftab[0], 7, 7)
          .remove("other" + (l.names.stream().filter(n -> n.startsWith("other")).count() - 1));
    });
    // Fields gone: minpc/maxpc (text is then found unverified) and everything between text and types.
    TRANSFORMS.put("removed", l -> {
      l.remove("minpc");
      int from = l.names.indexOf("text") + 1;
      while (l.names.get(from).startsWith("other")) {
        l.names.remove(from);
        l.blocks.remove(from);
      }
      return l;
    });
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("transformations")
  void discoversRewrittenLayouts(String which, String transform) throws IOException {
    Base base = base(which);
    Original o = original(base);
    Layout layout = TRANSFORMS.get(transform).apply(new Layout(o.words(), KnownLayouts.of(version(base))));
    long[] words = layout.flatten();
    Path bin = rewritten(base, o, words, transform);
    try (GoBinary orig = GoBinary.open(base.stripped()); GoBinary b = GoBinary.open(bin)) {
      ModuleData md = b.moduleData();
      String where = layout.names + "\n" + md.checks();
      assertEquals(o.address(), md.address(), where);
      assertTrue(md.typesResolved(), where);
      assertEquals(o.md().text(), md.text(), where);
      assertEquals(o.md().etext(), md.etext(), where);
      assertEquals(o.md().types(), md.types(), where);
      assertEquals(o.md().etypes(), md.etypes(), where);
      assertEquals(o.md().typelinksCount(), md.typelinksCount(), where);
      assertEquals(o.md().itablinks().length, md.itablinks().length, where);
      // Go 1.19 writes text = minpc, etext = maxpc: the two pairs cannot be told apart, only their values count.
      boolean samePairs = o.md().text() == o.md().minpc() && o.md().etext() == o.md().maxpc();
      for (String field : List.of("ftab", "text", "types", "etypes", "typelinks", "itablinks", "typedesclen",
          "itaboffset", "minpc")) {
        if (layout.names.contains(field) && !(samePairs && (field.equals("text") || field.equals("minpc")))) {
          assertEquals(layout.offsetOf(field), md.offsetOf(field), field + " placed at its new offset: " + where);
        }
      }
      assertEquals(orig.function(NetHttpProbeSetFixture.SERVE_HTTP), b.function(NetHttpProbeSetFixture.SERVE_HTTP));
      TypeMetadata was = TypeMetadata.of(orig);
      TypeMetadata now = TypeMetadata.of(b);
      for (String struct : List.of("net/http.Request", "net/url.URL", "net/http.response")) {
        assertFalse(now.fields(struct).isEmpty(), struct);
        assertEquals(was.fields(struct), now.fields(struct), struct);
      }
    }
  }

  static GoVersion version(Base b) {
    try (GoBinary g = GoBinary.open(b.stripped())) {
      return g.goVersion();
    }
  }

  /** Without an ftab no candidate qualifies: the error names that invariant and the slices it saw instead. */
  @Test
  void missingFtabNamesTheInvariant() throws IOException {
    Base base = base("newest");
    Original o = original(base);
    Layout layout = new Layout(o.words(), KnownLayouts.of(version(base)));
    layout.block("ftab")[1] = 12; // len no longer nfunc + 1
    Path bin = rewritten(base, o, layout.flatten(), "no-ftab");
    try (GoBinary b = GoBinary.open(bin)) {
      assertTrue(b.buildInfo().isPresent(), "the binary still opens and reports its build info");
      ModuleDataNotFoundException e = assertThrows(ModuleDataNotFoundException.class, b::moduleData);
      assertTrue(e.getMessage().contains("failed ftab slice"), e.getMessage());
      assertTrue(e.getMessage().contains("slices seen: +8 {0x") && e.getMessage().contains("+128 {0x"),
          e.getMessage());
      ModuleDataNotFoundException.Candidate c = e.candidates().get(0);
      assertEquals(o.address(), c.address());
      assertTrue(c.failed().invariant().startsWith("ftab"), c.toString());
      // Functions need the text base from the moduledata (Go 1.26+ pclntab): the lookup fails with the same cause.
      ModuleDataNotFoundException again = assertThrows(ModuleDataNotFoundException.class,
          () -> b.function(NetHttpProbeSetFixture.SERVE_HTTP));
      assertEquals(e.getMessage(), again.getMessage());
    }
  }

  /**
   * Without type links (slice or walk), functions still resolve; the type part reports which invariant failed; every
   * field falls back to the bundled table, and one the table lacks to the bundle directory.
   */
  @Test
  void missingTypeLinksFallBackPerField(@TempDir Path bundles) throws IOException {
    for (String which : List.of("go1.26", "newest")) {
      Base base = base(which);
      Original o = original(base);
      GoVersion v = version(base);
      Layout layout = new Layout(o.words(), KnownLayouts.of(v));
      if (layout.names.contains("typelinks")) {
        layout.block("typelinks")[1] = 3; // len != cap
      } else {
        layout.block("typedesclen")[0] = 0;
        layout.block("itaboffset")[0] = 0;
        layout.block("itabsize")[0] = 0;
      }
      Path bin = rewritten(base, o, layout.flatten(), "no-typelinks");
      Files.writeString(bundles.resolve("extra.yaml"), "fields:\n  - module: std\n    struct: net/http.Request\n"
          + "    field: Pattern\n    versions:\n      - {from: \"1.23.0\", offset: 256}\n");
      try (GoBinary b = GoBinary.open(bin);
           OffsetBundleDirectory dir = OffsetBundleDirectory.scanOnce(bundles)) {
        ModuleData md = b.moduleData();
        assertFalse(md.typesResolved(), md.toString());
        assertTrue(md.typesProblem().contains("FAILED types, etypes with a typelinks slice"), md.typesProblem());
        assertTrue(md.typesProblem().contains("FAILED types, etypes with a typedesclen"), md.typesProblem());
        assertEquals(o.md().text(), md.text());
        assertTrue(b.function(NetHttpProbeSetFixture.SERVE_HTTP).isPresent());
        GoBinaryFormatException e = assertThrows(GoBinaryFormatException.class, md::types);
        assertTrue(e.getMessage().contains("type data not resolved"), e.getMessage());

        FieldResolver resolver = new FieldResolver(List.of(NetHttpProbeSetFixture.bundledTable()), dir);
        for (ResolvedField f : resolver.resolveAll(b, NetHttpProbeSetFixture.REQUIRED_FIELDS, List.of())) {
          assertEquals(FieldSource.TABLE, f.source(), f.toString());
        }
        ResolvedField pattern = resolver.resolve(b, new StructField("std", "net/http.Request", "Pattern", "x"));
        assertEquals(FieldSource.BUNDLE, pattern.source(), pattern.toString());
        assertEquals(256, pattern.offset().getAsLong());
      }
    }
  }

  /**
   * Struct field records that do not read as this reader expects (here: an offset going backwards, as a changed
   * {@code abi.StructField} would read) are refused, not returned: the field falls back to the table.
   */
  @Test
  void implausibleFieldOffsetsAreNotUsed() throws IOException {
    Base base = base("newest");
    Path bin = Files.copy(base.stripped(), tmp.resolve("bad-fields"));
    try (GoBinary b = GoBinary.open(base.stripped())) {
      long request = TypeMetadata.of(b).descriptorAddress("net/http.Request");
      assertTrue(request != 0);
      long fields = b.addressSpace().read(request + 56, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      long urlOffsetWord = fields + 24 + 16; // field 1 (URL): {name, typ, offset}
      try (FileChannel ch = FileChannel.open(bin, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 4096),
            b.elf().fileOffsetForVaddr(urlOffsetWord));
      }
    }
    try (GoBinary b = GoBinary.open(bin)) {
      GoBinaryFormatException e = assertThrows(GoBinaryFormatException.class,
          () -> TypeMetadata.of(b).fields("net/http.Request"));
      assertTrue(e.getMessage().contains("descriptor layout not understood"), e.getMessage());
      ResolvedField f = new FieldResolver(List.of(NetHttpProbeSetFixture.bundledTable()), null)
          .resolve(b, new StructField("std", "net/http.Request", "Method", "x"));
      assertEquals(FieldSource.TABLE, f.source(), f.toString());
      assertEquals(0, f.offset().getAsLong());
      assertEquals(56, TypeMetadata.of(b).fields("net/url.URL").get("Path"), "other structs still resolve");
    }
  }

  /**
   * A word nearer to types than typedesclen that is also a descriptor boundary (the walk ends there exactly, with a
   * sorted prefix of the type links) does not pass for typedesclen: the longest sorted walk wins.
   */
  @Test
  void aShorterSortedWalkIsNotTypedesclen() throws IOException {
    Base base = base("newest");
    Original o = original(base);
    Layout layout = new Layout(o.words(), KnownLayouts.of(version(base)));
    int prefix = o.md().typelinks()[100];
    layout.insertAfter("types", "prefix-length", prefix).remove("other"
        + (layout.names.stream().filter(n -> n.startsWith("other")).count() - 1));
    Path bin = rewritten(base, o, layout.flatten(), "prefix");
    try (GoBinary b = GoBinary.open(bin)) {
      ModuleData md = b.moduleData();
      assertEquals(layout.offsetOf("typedesclen"), md.offsetOf("typedesclen"), md.checks().toString());
      assertEquals(o.md().typelinksCount(), md.typelinksCount());
    }
  }

  /** A map descriptor size other than the one expected for the version is re-learned from the data (Go 1.27 walk). */
  @Test
  void walkRelearnsAChangedKindSize() {
    Base base = base("newest");
    try (GoBinary b = GoBinary.open(base.stripped())) {
      ModuleData told = b.moduleData();
      assertTrue(told.checks().stream().noneMatch(c -> c.found().contains("learned")), told.checks().toString());
      ModuleData md = ModuleData.locate(b.elf(), b.pclntab(), GoVersion.of(1, 20, 0), true);
      assertTrue(md.typesResolved(), md.checks().toString());
      ModuleData.Check walk = md.checks().stream().filter(c -> c.invariant().contains("typedesclen")).findFirst()
          .orElseThrow();
      assertTrue(walk.found().contains("kind sizes learned map=136"), walk.toString());
      assertEquals(told.typelinksCount(), md.typelinksCount());
      assertNotNull(md.typelinks());
    }
  }
}
