package io.goscope.platform.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.goscope.api.StructField;
import io.goscope.platform.gobinary.DwarfStructs;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.platform.instrument.ProbePlanner;
import io.goscope.platform.sys.CapstoneX86Decoder;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolTruth;
import io.goscope.testing.TestBinaries;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code goscope inspect} on a net/http server built in every supported mode, checked against the Go tools (entry
 * address from {@code go tool nm}, file offset from {@code readelf -lW}, return count from {@code go tool objdump})
 * and against the field offsets of the plugin's table (generated from DWARF of the same toolchain).
 */
class InspectReportTest {
  static final Path SRC = Path.of("src/test/resources/gobinary/httpserver");
  static final Path OUT = Path.of("target/inspect-matrix");

  /** A build mode; {@code twin} is the unstripped build with identical code, for the Go tools. */
  record Mode(String name, List<String> flags, Map<String, String> env, String twin) {
    boolean stripped() {
      return name.startsWith("stripped");
    }

    boolean arm64() {
      return "arm64".equals(env.get("GOARCH"));
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static final List<Mode> MODES = List.of(
      new Mode("default", List.of(), Map.of(), "default"),
      new Mode("pie", List.of("-buildmode=pie"), Map.of(), "pie"),
      new Mode("stripped", List.of("-ldflags=-s -w"), Map.of(), "default"),
      new Mode("stripped-pie", List.of("-buildmode=pie", "-ldflags=-s -w"), Map.of(), "pie"),
      new Mode("cgo", List.of(), Map.of("CGO_ENABLED", "1"), "cgo"),
      new Mode("trimpath", List.of("-trimpath"), Map.of(), "trimpath"),
      new Mode("arm64", List.of(), Map.of("GOARCH", "arm64"), "arm64"));

  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void needGo() {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
  }

  static Stream<Mode> modes() {
    return MODES.stream();
  }

  static Path build(Mode m) {
    return GoBuilder.build(SRC, OUT.resolve(m.name()), m.flags(), m.env());
  }

  static Path buildTwin(Mode m) {
    return build(MODES.stream().filter(x -> x.name().equals(m.twin())).findFirst().orElseThrow());
  }

  /** The report for {@code bin} with the nethttp mirror; the plugin's table is consulted like a bundled table. */
  static Map<String, Object> report(Path bin) {
    OffsetTable table = NetHttpProbeSetFixture.bundledTable();
    try (GoBinary b = GoBinary.open(bin)) {
      return InspectCommand.report(b, List.of(new NetHttpProbeSetFixture()),
          new ProbePlanner(new FieldResolver(List.of(table), null)));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("modes")
  void reportMatchesGroundTruth(Mode mode) throws Exception {
    Path bin = build(mode);
    Path twin = buildTwin(mode);
    long entry = GoToolTruth.nm(twin).get(NetHttpProbeSetFixture.SERVE_HTTP);
    List<long[]> loads = GoToolTruth.loads(bin);
    int rets = GoToolTruth.objdumpRets(twin, NetHttpProbeSetFixture.SERVE_HTTP).size();

    Map<String, Object> r = report(bin);
    JsonNode json = JSON.readTree(JsonWriter.write(r));
    assertEquals(mode.stripped(), json.get("stripped").asBoolean(), "stripped");
    assertEquals(mode.name().contains("pie"), json.get("pie").asBoolean(), "pie");
    JsonNode set = json.get("probeSets").get(0);
    assertEquals("nethttp", set.get("id").asText());
    boolean decodable = mode.arm64() || CapstoneX86Decoder.available();
    if (decodable || "true".equals(System.getenv("CI"))) {
      assertEquals("will attach", set.get("verdict").asText(), set.toString());
    }
    JsonNode fn = set.get("functions").get(0);
    assertEquals(NetHttpProbeSetFixture.SERVE_HTTP, fn.get("symbol").asText());
    assertTrue(fn.get("found").asBoolean());
    assertEquals("0x" + Long.toHexString(entry), fn.get("address").asText(), "address vs go tool nm");
    assertEquals("0x" + Long.toHexString(GoToolTruth.fileOffset(loads, entry)), fn.get("fileOffset").asText(),
        "file offset vs readelf");
    if (decodable) {
      assertEquals(rets, fn.get("returnSites").asInt(), "return sites vs go tool objdump");
    }

    OffsetTable table = NetHttpProbeSetFixture.bundledTable();
    String expectedSource = mode.stripped() ? "TYPE_METADATA" : "DWARF";
    Map<String, JsonNode> fields = new HashMap<>();
    set.get("fields").forEach(f -> fields.put(f.get("field").asText(), f));
    try (GoBinary b = GoBinary.open(bin); GoBinary t = GoBinary.open(twin)) {
      DwarfStructs twinDwarf = DwarfStructs.of(t.elf()).orElseThrow();
      java.util.Set<String> resolvedConstants = new java.util.HashSet<>();
      for (StructField f : NetHttpProbeSetFixture.allFields()) {
        JsonNode got = fields.get(f.qualifiedName());
        if (got != null && !got.get("offset").isNull()) {
          resolvedConstants.add(f.constant());
        }
      }
      for (StructField f : NetHttpProbeSetFixture.allFields()) {
        JsonNode got = fields.get(f.qualifiedName());
        assertNotNull(got, f.qualifiedName());
        if (twinDwarf.offset(f.structType(), f.field()).isEmpty()) {
          // Another Go release's name of a field (net/http/internal/http2 from Go 1.27): the constant must come
          // from the name this release has.
          assertTrue(resolvedConstants.contains(f.constant()), f.constant() + " resolved under some name");
          continue;
        }
        String source = got.get("source").asText();
        assertTrue(source.equals(expectedSource) || (mode.stripped() && source.equals("TABLE")),
            f.qualifiedName() + " " + got);
        long dwarf = twinDwarf.offset(f.structType(), f.field()).orElseThrow();
        assertEquals(dwarf, got.get("offset").asLong(), f.qualifiedName() + " vs DWARF of the unstripped twin");
        OptionalLong tabled = table.lookup("std", b.goVersion(), f.structType(), f.field());
        if (tabled.isPresent()) {
          assertEquals(tabled.getAsLong(), got.get("offset").asLong(), f.qualifiedName() + " vs plugin table");
        }
      }
    }
  }

  /** The outcome of one {@code goscope inspect} run through {@link Main#run}. */
  private record MainRun(int rc, String out, String err) {}

  /** Runs {@code goscope inspect args...} as the CLI does, with an empty plugins directory. */
  private static MainRun inspect(String... args) throws java.io.IOException {
    var out = new java.io.ByteArrayOutputStream();
    var err = new java.io.ByteArrayOutputStream();
    Path emptyPlugins = Files.createDirectories(OUT.resolve("no-plugins")).toAbsolutePath();
    String old = System.getProperty("goscope.plugins.dir");
    System.setProperty("goscope.plugins.dir", emptyPlugins.toString());
    try {
      String[] argv = new String[args.length + 1];
      argv[0] = "inspect";
      System.arraycopy(args, 0, argv, 1, args.length);
      int rc = Main.run(argv, new java.io.PrintStream(out), new java.io.PrintStream(err));
      return new MainRun(rc, out.toString(), err.toString());
    } finally {
      if (old == null) {
        System.clearProperty("goscope.plugins.dir");
      } else {
        System.setProperty("goscope.plugins.dir", old);
      }
    }
  }

  @Test
  void jsonAndTextThroughMain() throws Exception {
    Path bin = build(MODES.get(2)).toAbsolutePath();
    MainRun json = inspect(bin.toString(), "--json");
    assertEquals(0, json.rc(), json.err());
    JsonNode report = JSON.readTree(json.out());
    assertEquals(bin.toString(), report.get("path").asText());
    assertTrue(report.get("stripped").asBoolean());
    MainRun text = inspect(bin.toString());
    assertEquals(0, text.rc());
    assertTrue(text.out().contains("stripped:   true"), text.out());
    assertEquals(1, inspect("/nonexistent/binary").rc());
  }

  /** Layout of net/http.Request and net/url.URL in Go 1.26's source (unchanged since Go 1.8 for these fields). */
  static final Map<String, Long> GO_126_OFFSETS = Map.of(
      "net/http.Request.Method", 0L, "net/http.Request.URL", 16L, "net/http.Request.Proto", 24L,
      "net/http.Request.Host", 128L, "net/http.Request.RemoteAddr", 176L, "net/http.Request.TLS", 208L,
      "net/url.URL.Path", 56L);

  @Test
  void esbuildWillAttachWithTypeMetadataOffsets() throws Exception {
    Map<String, Object> r = report(io.goscope.testing.TestBinaries.esbuild());
    JsonNode json = JSON.readTree(JsonWriter.write(r));
    assertTrue(json.get("stripped").asBoolean());
    assertTrue(json.get("goVersion").asText().startsWith("go1.2"), json.get("goVersion").asText());
    JsonNode set = json.get("probeSets").get(0);
    if (CapstoneX86Decoder.available() || "true".equals(System.getenv("CI"))) {
      assertEquals("will attach", set.get("verdict").asText(), set.toString());
      assertTrue(set.get("functions").get(0).get("returnSites").asInt() > 0);
    }
    for (JsonNode f : set.get("fields")) {
      String name = f.get("field").asText();
      if (alternativeName(set, f)) {
        continue;
      }
      assertTrue(f.get("source").asText().equals("TYPE_METADATA") || f.get("source").asText().equals("TABLE"),
          f.toString());
      long off = f.get("offset").asLong();
      if (GO_126_OFFSETS.containsKey(name)) {
        assertEquals(GO_126_OFFSETS.get(name), off, name);
      } else {
        assertTrue(off >= 0 && off < 4096 && off % 8 == 0, f.toString());
      }
    }
  }

  /** The esbuild-matrix releases built with Go 1.17 and later (.ci/fetch-test-binaries esbuild-matrix). */
  static Stream<String> registerAbiEsbuilds() {
    return Stream.of("0.14.10", "0.14.40", "0.19.12", "0.27.7", "0.28.2");
  }

  /** From Go 1.17 to the newest, a stripped binary built by others plans to attach, offsets from type metadata. */
  @ParameterizedTest(name = "esbuild {0}")
  @MethodSource("registerAbiEsbuilds")
  void esbuildReleasesWillAttach(String esbuild) throws Exception {
    Path bin = TestBinaries.esbuild(esbuild);
    JsonNode set = JSON.readTree(JsonWriter.write(report(bin))).get("probeSets").get(0);
    JsonNode fn = set.get("functions").get(0);
    assertTrue(fn.get("found").asBoolean(), fn.toString());
    if (CapstoneX86Decoder.available() || "true".equals(System.getenv("CI"))) {
      assertEquals("will attach", set.get("verdict").asText(), set.toString());
      assertTrue(fn.get("returnSites").asInt() > 0, fn.toString());
    }
    for (JsonNode f : set.get("fields")) {
      if (!alternativeName(set, f)) {
        assertTrue(f.get("source").asText().equals("TYPE_METADATA") || f.get("source").asText().equals("TABLE"),
            f.toString());
      }
    }
  }

  /**
   * Whether {@code field} is missing only because it is another Go release's name of a field whose constant another
   * entry of the set resolved (net/http/internal/http2 from Go 1.27, the bundled net/http.http2* before).
   */
  static boolean alternativeName(JsonNode set, JsonNode field) {
    if (!field.get("source").asText().equals("MISSING")) {
      return false;
    }
    String constant = constantOf(field.get("field").asText());
    for (JsonNode other : set.get("fields")) {
      if (other != field && !other.get("offset").isNull() && constant.equals(constantOf(other.get("field").asText()))) {
        return true;
      }
    }
    return false;
  }

  private static String constantOf(String qualifiedField) {
    return NetHttpProbeSetFixture.allFields().stream().filter(f -> f.qualifiedName().equals(qualifiedField))
        .map(io.goscope.api.StructField::constant).findFirst().orElse(qualifiedField);
  }

  /**
   * A Go 1.16 binary (esbuild 0.11.23, stack ABI) is parsed like any other: the function is located and the fields
   * resolved, only attaching is refused, with the reason.
   */
  @Test
  void goBelow117IsInspectedButNotAttached() throws Exception {
    Path bin = TestBinaries.esbuild("0.11.23");
    JsonNode json = JSON.readTree(JsonWriter.write(report(bin)));
    assertEquals("go1.16.3", json.get("goVersion").asText());
    assertEquals("github.com/evanw/esbuild (devel)", json.get("mainModule").asText());
    JsonNode set = json.get("probeSets").get(0);
    assertTrue(set.get("verdict").asText().startsWith("skipped: "), set.toString());
    JsonNode fn = set.get("functions").get(0);
    assertEquals("skipped: built with go1.16.3, which passes arguments on the stack; probes need the register ABI"
        + " (Go 1.17+)", fn.get("verdict").asText());
    try (GoBinary b = GoBinary.open(bin)) {
      var serve = b.function(NetHttpProbeSetFixture.SERVE_HTTP).orElseThrow();
      assertTrue(fn.get("found").asBoolean(), fn.toString());
      assertEquals("0x" + Long.toHexString(serve.entry()), fn.get("address").asText());
      assertEquals("0x" + Long.toHexString(serve.entryFileOffset()), fn.get("fileOffset").asText());
    }
    if (CapstoneX86Decoder.available()) {
      assertTrue(fn.get("returnSites").asInt() > 0, fn.toString());
    }
    for (JsonNode f : set.get("fields")) {
      if (alternativeName(set, f)) {
        continue;
      }
      assertTrue(f.get("source").asText().equals("TYPE_METADATA") || f.get("source").asText().equals("TABLE"),
          f.toString());
      String name = f.get("field").asText();
      if (GO_126_OFFSETS.containsKey(name)) {
        assertEquals(GO_126_OFFSETS.get(name), f.get("offset").asLong(), name);
      }
    }
  }

  /** esbuild 0.27 ships without build ID: the text report says so instead of printing "null". */
  @Test
  void absentBuildIdPrintsNone() throws Exception {
    MainRun run = inspect(TestBinaries.esbuild("0.27.7").toString());
    assertEquals(0, run.rc(), run.err());
    assertTrue(run.out().contains("go version: go1.25.7"), run.out());
    assertTrue(run.out().contains("build id:   none"), run.out());
    assertTrue(run.out().contains("main module: github.com/evanw/esbuild (devel)"), run.out());
  }
}
