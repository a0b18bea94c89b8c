package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.StructField;
import io.goscope.platform.cli.NetHttpProbeSetFixture;
import io.goscope.platform.sys.CapstoneX86Decoder;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolTruth;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.TestBinaries;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Builds a net/http server in a matrix of build modes, with Debian's Go 1.19 and with the newest Go release
 * ({@value TestBinaries#NEWEST_GO}, fetched through the module proxy), and checks every reader against the Go tools
 * of the same toolchain: functions against {@code go tool nm}, return sites against {@code go tool objdump} (amd64
 * and arm64 alike), the module data against the {@code runtime.firstmoduledata} symbol and the layout of that
 * release, and struct offsets from the runtime type metadata against DWARF of the unstripped twin.
 */
class GoBinaryMatrixTest {
  static final Path SRC = Path.of("src/test/resources/gobinary/httpserver");
  static final Path OUT = Path.of("target/gobinary-matrix");
  static final String SERVE_HTTP = "net/http.serverHandler.ServeHTTP";
  static final List<String> FUNCS = List.of(SERVE_HTTP, "main.compute", "main.hello", "runtime.mallocgc");

  record Variant(String name, List<String> flags, Map<String, String> env, String twin, boolean arm64) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final List<Variant> VARIANTS = List.of(
      new Variant("default", List.of(), Map.of(), "default", false),
      new Variant("pie", List.of("-buildmode=pie"), Map.of(), "pie", false),
      new Variant("stripped", List.of("-ldflags=-s -w"), Map.of(), "default", false),
      new Variant("stripped-pie", List.of("-buildmode=pie", "-ldflags=-s -w"), Map.of(), "pie", false),
      new Variant("cgo", List.of(), Map.of("CGO_ENABLED", "1"), "cgo", false),
      new Variant("trimpath", List.of("-trimpath"), Map.of(), "trimpath", false),
      new Variant("arm64", List.of(), Map.of("GOARCH", "arm64"), "arm64", true),
      new Variant("arm64-stripped", List.of("-ldflags=-s -w"), Map.of("GOARCH", "arm64"), "arm64", true),
      new Variant("arm64-pie", List.of("-buildmode=pie"), Map.of("GOARCH", "arm64"), "arm64-pie", true));

  /** A toolchain of the matrix, resolved lazily so that a missing one skips (or fails under CI) only its cases. */
  record Toolchain(String name, Supplier<GoToolchain> resolve) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final List<Toolchain> TOOLCHAINS = List.of(
      new Toolchain("go1.19 (Debian)", GoToolchain::installed),
      new Toolchain(TestBinaries.NEWEST_GO, () -> TestBinaries.goRelease(TestBinaries.NEWEST_GO)));

  @BeforeAll
  static void needGo() {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
  }

  static Stream<Arguments> variants() {
    return TOOLCHAINS.stream().flatMap(t -> VARIANTS.stream().map(v -> Arguments.of(t, v)));
  }

  static Path build(GoToolchain toolchain, Variant v) {
    return GoBuilder.build(toolchain, SRC, OUT.resolve(toolchain.version()).resolve(v.name()), v.flags(), v.env());
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("variants")
  void matchesGoTools(Toolchain tc, Variant v) {
    GoToolchain toolchain = tc.resolve().get();
    String goVersion = toolchain.version();
    Path bin = build(toolchain, v);
    Path twin = build(toolchain, VARIANTS.stream().filter(x -> x.name().equals(v.twin())).findFirst().orElseThrow());
    Map<String, Long> nm = GoToolTruth.nm(toolchain, twin);
    List<long[]> loads = GoToolTruth.loads(bin);
    assertTrue(GoBinary.looksLikeGo(bin), "looksLikeGo");
    assertFalse(GoBinary.looksLikeGo(Path.of("/bin/true")), "looksLikeGo(/bin/true)");
    try (GoBinary b = GoBinary.open(bin)) {
      assertEquals(v.name().contains("stripped"), b.stripped(), "stripped");
      assertEquals(v.name().contains("pie"), b.isPie(), "pie");
      assertEquals(v.arm64() ? ElfFile.EM_AARCH64 : ElfFile.EM_X86_64, b.elf().machine());
      assertEquals(goVersion, b.goVersion().raw(), "go version from build info");
      assertTrue(b.buildInfo().isPresent());
      assertTrue(b.buildId().isPresent(), "build id");
      for (String fn : FUNCS) {
        GoFunction f = b.function(fn).orElseThrow(() -> new AssertionError(fn + " not found"));
        assertEquals(nm.get(fn), f.entry(), fn + " entry vs go tool nm");
        assertEquals(GoToolTruth.fileOffset(loads, f.entry()), f.entryFileOffset(), fn + " file offset vs readelf -lW");
        assertTrue(f.end() > f.entry());
      }
      // Entry probes go past the stack-bound check (which a stack-growing call runs twice): where objdump says.
      for (String fn : FUNCS) {
        GoFunction f = b.function(fn).orElseThrow();
        long site = GoToolTruth.fileOffset(loads, GoToolTruth.objdumpAfterStackCheck(toolchain, twin, fn));
        assertEquals(!fn.equals("main.compute"), site > f.entryFileOffset(), fn + ": only the leaf has no check");
        assertEquals(site, EntrySites.find(b.elf(), f), fn + " entry site vs go tool objdump");
      }
      // Stripped and unstripped agree through pclntab too.
      Pclntab p = b.pclntab();
      int i = p.find(SERVE_HTTP).orElseThrow();
      assertEquals(nm.get(SERVE_HTTP), p.entry(i));
      assertEquals(SERVE_HTTP, p.name(i));

      ModuleData md = b.moduleData();
      assertTrue(md.typesResolved(), md.checks().toString());
      KnownLayouts.assertPlaced(KnownLayouts.of(b.goVersion()), md);
      assertEquals(nm.get("runtime.text"), md.text(), "moduledata.text");
      assertTrue(md.typelinksCount() > 100, "typelinks " + md.typelinksCount());
      assertTrue(md.itablinks().length > 50, "itabs " + md.itablinks().length);
      int[] tl = md.typelinks();
      for (int off : tl) {
        assertTrue(off >= 0 && off < md.etypes() - md.types(), "typelink in range");
      }
      try (GoBinary tb = GoBinary.open(twin)) {
        ModuleData twinMd = tb.moduleData();
        assertEquals(twinMd.typelinksCount(), md.typelinksCount(), "typelinks vs unstripped twin");
        assertEquals(twinMd.itablinks().length, md.itablinks().length, "itabs vs unstripped twin");
        if (!b.stripped()) {
          Optional<ElfSymbol> sym = b.elf().symbol("runtime.firstmoduledata");
          assertEquals(sym.orElseThrow().value(), md.address(), "moduledata vs symbol");
          ModuleData scanned = ModuleData.locate(b.elf(), p, b.goVersion(), false);
          assertEquals(md.address(), scanned.address(), "moduledata by scan vs symbol");
          assertEquals(md.types(), scanned.types());
          assertEquals(tb.elf().symbol("runtime.types").orElseThrow().value(), md.types(), "types vs symbol");
          assertEquals(tb.elf().symbol("runtime.etypes").orElseThrow().value(), md.etypes(), "etypes vs symbol");
        }
        assertTypeMetadataMatchesDwarf(b, tb);
      }

      if (v.arm64() || CapstoneX86Decoder.available() || "true".equals(System.getenv("CI"))) {
        for (String fn : List.of(SERVE_HTTP, "runtime.mallocgc", "main.hello")) {
          List<Long> expected = new ArrayList<>();
          for (long ret : GoToolTruth.objdumpRets(toolchain, twin, fn)) {
            expected.add(GoToolTruth.fileOffset(loads, ret));
          }
          GoFunction f = b.functionWithReturns(fn).orElseThrow();
          assertFalse(expected.isEmpty(), fn);
          assertEquals(expected, f.returnFileOffsets(), fn + " RETs vs go tool objdump");
        }
      }
    }
  }

  /**
   * Every field of the structs the nethttp probe reads, from the (possibly stripped) binary's runtime type metadata,
   * equals DWARF of its unstripped twin, field by field; the probe's own fields resolve from type metadata where
   * DWARF is absent and from DWARF where present.
   */
  private static void assertTypeMetadataMatchesDwarf(GoBinary b, GoBinary twin) {
    DwarfStructs dwarf = DwarfStructs.of(twin.elf()).orElseThrow();
    TypeMetadata types = TypeMetadata.of(b);
    for (String struct : List.of("net/http.Request", "net/url.URL", "net/http.response", "net/http.conn",
        "net/http.Server", "crypto/tls.ConnectionState")) {
      Map<String, Long> fields = types.fields(struct);
      assertFalse(fields.isEmpty(), struct + " reached through the type metadata");
      fields.forEach((name, off) -> assertEquals(dwarf.offset(struct, name).orElseThrow(() -> new AssertionError(
          struct + "." + name + " not in DWARF")), off.longValue(), struct + "." + name + " vs DWARF"));
    }
    FieldResolver resolver = new FieldResolver(List.of(), null);
    for (ResolvedField f : resolver.resolveAll(b, NetHttpProbeSetFixture.allFields(), List.of())) {
      StructField sf = f.field();
      Optional<Long> truth = dwarf.hasStruct(sf.structType())
          ? Optional.of(dwarf.offset(sf.structType(), sf.field()).orElseThrow()) : Optional.empty();
      if (truth.isEmpty()) {
        // The bundled HTTP/2 server's types: gone from net/http in Go 1.27 (net/http/internal/http2), and the
        // internal package's names before it.
        assertEquals(FieldSource.MISSING, f.source(), f.toString());
        assertTrue(b.goVersion().atLeast(1, 27) ? sf.structType().startsWith("net/http.http2")
            : sf.structType().startsWith("net/http/internal/http2."), f.toString());
        continue;
      }
      assertEquals(b.stripped() ? FieldSource.TYPE_METADATA : FieldSource.DWARF, f.source(), f.toString());
      assertEquals(truth.get().longValue(), f.offset().getAsLong(), f + " vs DWARF");
    }
  }
}
