package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.goscope.platform.cli.NetHttpProbeSetFixture;
import io.goscope.platform.gobinary.GoVersion;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.TestBinaries;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Go 1.16 to 1.27 through {@code bin/goscope inspect --json} as users run it, with the distribution's real net/http
 * plugin: esbuild releases built by others (1.16, 1.17, 1.18, 1.20, 1.25, 1.26; stripped, some without build info)
 * and the demo server built here with Debian's Go 1.19, Debian's 1.21-1.24, the current 1.26 and the newest release
 * from the module proxy (default and stripped; the newest also for arm64). Each must report its Go version, find
 * {@code serverHandler.ServeHTTP} with its return sites, resolve the module data by its invariants, and take every
 * struct offset from the binary itself (DWARF, else the runtime type metadata), equal to the plugin's table where
 * that covers the version. No BPF: inspect is pure analysis. Writes the matrix to
 * {@code target/go-version-matrix.md}.
 */
class GoVersionMatrixE2ETest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> ROWS = new TreeMap<>();

  @TempDir static Path work;

  /** One binary of the matrix; {@code binary} builds or fetches it (skipping, or failing under CI, if it cannot). */
  record Case(String name, Supplier<Path> binary, boolean ownBuild, boolean stripped, boolean arm64) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Case> cases() {
    List<Case> out = new ArrayList<>();
    for (String v : List.of("0.11.23", "0.14.10", "0.14.40", "0.19.12", "0.27.7", "0.28.2")) {
      out.add(new Case("esbuild " + v, () -> TestBinaries.esbuild(v), false, true, false));
    }
    Map<String, Supplier<GoToolchain>> toolchains = new java.util.LinkedHashMap<>();
    toolchains.put("go1.19 (Debian)", GoToolchain::installed);
    List<Path> roots = TestBinaries.goToolchainRoots();
    roots.forEach(r -> toolchains.put(r.getFileName() + " (Debian)", () -> GoToolchain.at(r)));
    if (roots.isEmpty()) {
      toolchains.put(TestBinaries.GO_TOOLCHAINS + " (not set)", () -> {
        TestBinaries.requireGoToolchains(); // skips, or fails under CI
        throw new AssertionError("unreachable");
      });
    }
    toolchains.put("go (GOSCOPE_GO_MODULES)", () -> GoToolchain.modules().orElseGet(() -> {
      TestBinaries.requireGoToolchains();
      throw new AssertionError("no Go for module builds");
    }));
    toolchains.put(TestBinaries.NEWEST_GO + " (module proxy)", () -> TestBinaries.goRelease(TestBinaries.NEWEST_GO));
    toolchains.forEach((label, tc) -> {
      for (String variant : List.of("default", "stripped")) {
        out.add(new Case(label + " demo " + variant, () -> demo(tc.get(), variant, false), true,
            variant.equals("stripped"), false));
      }
    });
    Supplier<GoToolchain> newest = () -> TestBinaries.goRelease(TestBinaries.NEWEST_GO);
    for (String variant : List.of("default", "stripped")) {
      out.add(new Case(TestBinaries.NEWEST_GO + " demo arm64 " + variant, () -> demo(newest.get(), variant, true),
          true, variant.equals("stripped"), true));
    }
    return out.stream();
  }

  static Path demo(GoToolchain toolchain, String variant, boolean arm64) {
    Path src = NetHttpServerE2ETest.demoSource();
    Path out = work.resolve("matrix-" + toolchain.version() + (arm64 ? "-arm64-" : "-") + variant);
    return GoBuilder.build(toolchain, src, out, variant.equals("stripped") ? List.of("-ldflags=-s -w") : List.of(),
        arm64 ? Map.of("GOARCH", "arm64", "CGO_ENABLED", "0") : Map.of("CGO_ENABLED", "0"));
  }

  /** {@code bin/goscope inspect --json binary}, parsed. */
  static JsonNode inspect(Path binary) throws Exception {
    try (AgentProcess inspect = AgentProcess.start(Map.of(), "inspect", "--json", binary.toString())) {
      int exit = inspect.awaitExit(Duration.ofSeconds(60));
      String output = String.join("\n", inspect.output());
      assertEquals(0, exit, "inspect exit code; output:\n" + output);
      int start = output.indexOf("\n{");
      int end = output.lastIndexOf('}');
      assertTrue(start >= 0 || output.startsWith("{"), "JSON in:\n" + output);
      return JSON.readTree(output.substring(output.startsWith("{") ? 0 : start + 1, end + 1));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void inspectReadsEveryRelease(Case c) throws Exception {
    Path bin = c.binary().get();
    JsonNode r = inspect(bin);
    String where = c + ":\n" + r.toPrettyString();
    GoVersion v = GoVersion.parse(r.get("goVersion").asText());
    assertNotNull(v, where);
    assertEquals(c.stripped(), r.get("stripped").asBoolean(), where);

    JsonNode md = r.get("moduleData");
    assertTrue(md.get("found").asBoolean(), where);
    assertTrue(md.get("typesResolved").asBoolean(), where);
    boolean walked = md.get("layout").has("typedesclen");
    assertEquals(v.atLeast(1, 27), walked, "Go 1.27 dropped typelinks for typedesclen: " + where);

    JsonNode set = null;
    for (JsonNode s : r.get("probeSets")) { // one per installed probe set, in plugin order
      if ("nethttp".equals(s.get("id").asText())) {
        set = s;
      }
    }
    assertNotNull(set, "the nethttp probe set: " + where);
    JsonNode fn = set.get("functions").get(0);
    assertTrue(fn.get("found").asBoolean(), where);
    assertTrue(fn.get("returnSites").asInt() > 0, where);
    boolean registerAbi = v.atLeast(1, c.arm64() ? 18 : 17);
    assertEquals(registerAbi ? "will attach" : "skipped", set.get("verdict").asText().split(":")[0], where);

    String expected = c.stripped() ? "TYPE_METADATA" : "DWARF";
    OffsetTable table = NetHttpProbeSetFixture.bundledTable();
    TreeSet<String> sources = new TreeSet<>();
    for (JsonNode f : set.get("fields")) {
      String field = f.get("field").asText();
      String source = f.get("source").asText();
      if (v.atLeast(1, 27) && field.startsWith("net/http.http2")) {
        assertEquals("MISSING", source, field + " " + where); // moved to net/http/internal/http2 in Go 1.27
        continue;
      }
      if (!v.atLeast(1, 27) && field.startsWith("net/http/internal/http2.")) {
        assertEquals("MISSING", source, field + " " + where); // the Go 1.27 name of a net/http.http2* field
        continue;
      }
      assertEquals(expected, source, field + " " + where);
      sources.add(source);
      int dot = field.lastIndexOf('.');
      OptionalLong tabled = table.lookup("std", v, field.substring(0, dot), field.substring(dot + 1));
      if (tabled.isPresent()) {
        assertEquals(tabled.getAsLong(), f.get("offset").asLong(), field + " vs the plugin's table: " + where);
      }
    }
    String buildInfo = r.get("mainModule").isNull() ? "version only" : "main module, " + r.get("modules").size()
        + " deps";
    if (c.ownBuild()) {
      assertFalse(r.get("mainModule").isNull(), where);
    }
    ROWS.put(String.format("%s %-40s", sortKey(v), c.name()), String.format("| %s | %s | found, %d RET | %s | %s"
        + " (%s) | %s |", v, c.name(), fn.get("returnSites").asInt(), buildInfo,
        walked ? "typedesclen walk" : "typelinks slice", md.get("foundBy").asText(), String.join(", ", sources)));
  }

  private static String sortKey(GoVersion v) {
    return String.format("%03d.%03d.%03d", v.major(), v.minor(), v.patch());
  }

  /** Every plugin jar and the platform jar ship each BPF object for x86_64 and aarch64. */
  @Test
  void jarsShipBpfObjectsForBothArchitectures() throws IOException {
    List<Path> jars = new ArrayList<>();
    try (Stream<Path> s = Files.list(AgentProcess.home().resolve("plugins"))) {
      s.filter(p -> p.toString().endsWith(".jar")).forEach(jars::add);
    }
    try (Stream<Path> s = Files.list(AgentProcess.home().resolve("lib"))) {
      s.filter(p -> p.getFileName().toString().startsWith("goscope-platform")).forEach(jars::add);
    }
    int objects = 0;
    for (Path jar : jars) {
      TreeSet<String> names = new TreeSet<>();
      try (JarFile j = new JarFile(jar.toFile())) {
        for (Enumeration<JarEntry> e = j.entries(); e.hasMoreElements(); ) {
          names.add(e.nextElement().getName());
        }
      }
      for (String n : names) {
        if (n.startsWith("bpf/") && n.endsWith(".o") && n.indexOf('/', 4) < 0) {
          String file = n.substring(4);
          assertTrue(names.contains("bpf/x86_64/" + file) && names.contains("bpf/aarch64/" + file),
              jar.getFileName() + " ships " + n + " for both architectures: " + names);
          objects++;
        }
      }
    }
    assertTrue(objects >= 2, "process_events and nethttp objects found in " + jars);
  }

  @AfterAll
  static void writeMatrix() throws IOException {
    if (ROWS.isEmpty()) {
      return;
    }
    StringBuilder md = new StringBuilder("| Go | binary | functions (ServeHTTP) | build info | type metadata"
        + " (moduledata via) | offsets source |\n|---|---|---|---|---|---|\n");
    ROWS.values().forEach(row -> md.append(row).append('\n'));
    Files.writeString(Path.of("target", "go-version-matrix.md"), md);
  }
}
