package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.sys.CapstoneX86Decoder;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolTruth;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Builds a net/http server in a matrix of build modes and checks every reader against the Go tools. */
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
      new Variant("arm64", List.of(), Map.of("GOARCH", "arm64"), "arm64", true));

  static String goVersion;

  @BeforeAll
  static void buildAll() {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
    goVersion = GoBuilder.run(GoBuilder.go("env", "GOVERSION")).trim();
  }

  static Stream<Arguments> variants() {
    return VARIANTS.stream().map(Arguments::of);
  }

  static Path build(Variant v) {
    return GoBuilder.build(SRC, OUT.resolve(v.name()), v.flags(), v.env());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void matchesGoTools(Variant v) {
    Path bin = build(v);
    Path twin = build(VARIANTS.stream().filter(x -> x.name().equals(v.twin())).findFirst().orElseThrow());
    Map<String, Long> nm = GoToolTruth.nm(twin);
    List<long[]> loads = GoToolTruth.loads(bin);
    assertTrue(GoBinary.looksLikeGo(bin), "looksLikeGo");
    assertFalse(GoBinary.looksLikeGo(Path.of("/bin/true")), "looksLikeGo(/bin/true)");
    try (GoBinary b = GoBinary.open(bin)) {
      assertEquals(v.name().startsWith("stripped"), b.stripped(), "stripped");
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
      // Stripped and unstripped agree through pclntab too.
      Pclntab p = b.pclntab();
      int i = p.find(SERVE_HTTP).orElseThrow();
      assertEquals(nm.get(SERVE_HTTP), p.entry(i));
      assertEquals(SERVE_HTTP, p.name(i));

      ModuleData md = b.moduleData();
      assertEquals(nm.get("runtime.text"), md.text(), "moduledata.text");
      assertTrue(md.typelinksCount() > 100, "typelinks " + md.typelinksCount());
      int[] tl = md.typelinks();
      for (int off : tl) {
        assertTrue(off >= 0 && off < md.etypes() - md.types(), "typelink in range");
      }
      if (b.stripped()) {
        assertEquals("scan for pclntab pointer", md.foundBy());
        try (GoBinary tb = GoBinary.open(twin)) {
          assertEquals(tb.moduleData().typelinksCount(), md.typelinksCount());
        }
      } else {
        Optional<ElfSymbol> sym = b.elf().symbol("runtime.firstmoduledata");
        assertEquals(sym.orElseThrow().value(), md.address(), "moduledata vs symbol");
        ModuleData scanned = ModuleData.locate(b.elf(), p, b.goVersion(), false);
        assertEquals(md.address(), scanned.address(), "moduledata by scan vs symbol");
        assertEquals(md.types(), scanned.types());
      }

      if (v.arm64() || CapstoneX86Decoder.available() || "true".equals(System.getenv("CI"))) {
        List<Long> expected = new ArrayList<>();
        for (long ret : GoToolTruth.objdumpRets(twin, SERVE_HTTP)) {
          expected.add(GoToolTruth.fileOffset(loads, ret));
        }
        GoFunction f = b.functionWithReturns(SERVE_HTTP).orElseThrow();
        assertFalse(expected.isEmpty());
        assertEquals(expected, f.returnFileOffsets(), "RETs vs go tool objdump");
        GoFunction malloc = b.functionWithReturns("runtime.mallocgc").orElseThrow();
        assertEquals(GoToolTruth.objdumpRets(twin, "runtime.mallocgc").size(), malloc.returnFileOffsets().size());
      }
    }
  }
}
