package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.goscope.api.StructField;
import io.goscope.platform.cli.NetHttpProbeSetFixture;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.TestBinaries;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every pclntab and moduledata layout from Go 1.16 to the newest, on stripped binaries built by someone else: esbuild
 * releases from npm, each built with the Go of its day ({@code .ci/fetch-test-binaries esbuild-matrix}, paths in
 * {@code GOSCOPE_ESBUILD_MATRIX}). Checks the Go version against {@code go version} where the installed toolchain can
 * read the file, the function table (lookups, prologue bytes, name/entry consistency of every function), the module
 * data, the net/http struct offsets that the nethttp probe uses, and that all of it still works with the section
 * header table removed.
 */
class EsbuildMatrixTest {

  /**
   * A pinned esbuild release and what its binary is known to be; {@code layout} holds the moduledata byte offsets
   * of the fields discovery must place, from {@code runtime/symtab.go} of that Go release.
   */
  record Release(String esbuild, String go, int pclntabMagic, Map<String, Integer> layout, boolean buildInfoBlob) {
    GoVersion goVersion() {
      return GoVersion.parse(go);
    }

    @Override
    public String toString() {
      return "esbuild " + esbuild + " (" + go + ")";
    }
  }

  /** Same versions as {@code .ci/fetch-test-binaries esbuild-matrix}. */
  static final List<Release> RELEASES = List.of(
      new Release("0.11.23", "go1.16.3", Pclntab.MAGIC_116, KnownLayouts.GO_1_16, true),
      new Release("0.14.10", "go1.17.5", Pclntab.MAGIC_116, KnownLayouts.GO_1_16, true),
      new Release("0.14.40", "go1.18.2", Pclntab.MAGIC_118, KnownLayouts.GO_1_18, true),
      new Release("0.19.12", "go1.20.12", Pclntab.MAGIC_120, KnownLayouts.GO_1_20, true),
      // esbuild strips .go.buildinfo and the build ID from 0.27 on: the version comes from runtime.buildVersion.
      new Release("0.27.7", "go1.25.7", Pclntab.MAGIC_120, KnownLayouts.GO_1_20, false),
      new Release("0.28.2", "go1.26.5", Pclntab.MAGIC_120, KnownLayouts.GO_1_26, false));

  static final String SERVE_HTTP = NetHttpProbeSetFixture.SERVE_HTTP;
  private static final Pattern GO_VERSION_LINE = Pattern.compile(": (go1\\.\\S+)$");

  /**
   * Offsets from the Go sources of every release covered: net/http.Request's and net/url.URL's leading fields have
   * not moved since Go 1.8 (Go 1.26 reordered URL's tail, not Path); response.status is 120 throughout (1.23 moved
   * fields around it); http2responseWriterState lost its {@code body *http2requestBody} field in Go 1.20; both
   * response writers keep their {@code req *Request} right after their first pointer.
   */
  static Map<String, Long> expectedOffsets(GoVersion v) {
    Map<String, Long> m = new HashMap<>(Map.of(
        "net/http.Request.Method", 0L, "net/http.Request.URL", 16L, "net/http.Request.Proto", 24L,
        "net/http.Request.Host", 128L, "net/http.Request.RemoteAddr", 176L, "net/http.Request.TLS", 208L,
        "net/url.URL.Path", 56L, "net/http.response.status", 120L, "net/http.http2responseWriter.rws", 0L,
        "net/http.response.req", 8L));
    m.put("net/http.http2responseWriterState.req", 8L);
    m.put("net/http.http2responseWriterState.status", v.atLeast(1, 20) ? 72L : 80L);
    return m;
  }

  @TempDir Path tmp;

  static Stream<Release> releases() {
    return RELEASES.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("releases")
  void readsEveryLayout(Release r) {
    Path bin = TestBinaries.esbuild(r.esbuild());
    boolean go = GoBuilder.goAvailable();
    if (go) {
      goToolVersion(bin).ifPresentOrElse(
          v -> assertEquals(r.go(), v, "go version " + bin),
          () -> assertFalse(r.buildInfoBlob(), "go version cannot read " + bin + " although it has build info"));
    }
    assertTrue(GoBinary.looksLikeGo(bin));
    try (GoBinary b = GoBinary.open(bin)) {
      assertTrue(b.stripped());
      assertFalse(b.isPie());
      assertEquals(r.go(), b.goVersion().raw(), "our go version");
      assertEquals(r.buildInfoBlob(), b.elf().section(".go.buildinfo").isPresent());
      GoBuildInfo bi = b.buildInfo().orElseThrow();
      assertEquals("github.com/evanw/esbuild", bi.mainModule().orElseThrow().path());
      assertEquals(r.buildInfoBlob(), b.buildId().isPresent(), "build id");
      if (go) {
        assertEquals(goTool("tool", "buildid", bin.toString()), b.buildId().orElse(""), "go tool buildid");
      }

      Pclntab p = b.pclntab();
      assertEquals(r.pclntabMagic(), p.magic(), String.format("magic 0x%08x", p.magic()));
      assertTrue(p.minGoVersion().compareTo(r.goVersion()) <= 0);
      assertTrue(p.functionCount() > 4_000 && p.functionCount() < 50_000, "function count " + p.functionCount());

      ModuleData md = b.moduleData();
      KnownLayouts.assertPlaced(r.layout(), md);
      ElfSection text = b.elf().section(".text").orElseThrow();
      long textEnd = text.addr() + text.size();
      assertEquals(text.addr(), md.text(), "moduledata.text");
      if (p.magic() != Pclntab.MAGIC_116) { // 1.16 entries are absolute addresses
        assertEquals(text.addr(), p.textStart(), "pclntab text base");
      }
      assertEquals(p.entry(0), md.minpc(), "moduledata.minpc is the first function");
      assertTrue(md.etext() > p.entry(p.functionCount() - 1) && md.etext() <= textEnd, "etext");
      b.elf().section(".typelink").ifPresent(s -> assertEquals(s.size() / 4, md.typelinksCount(), "typelinks"));
      b.elf().section(".itablink").ifPresent(s -> assertEquals(s.size() / 8, md.itablinks().length, "itablinks"));
      assertTrue(md.types() < md.etypes() && b.addressSpace().contains(md.types(), md.etypes() - md.types()));

      for (String fn : List.of(SERVE_HTTP, "main.main", "runtime.main", "runtime.goexit")) {
        GoFunction f = b.function(fn).orElseThrow(() -> new AssertionError(fn + " not found"));
        assertTrue(f.entry() >= text.addr() && f.end() <= textEnd && f.size() > 0, f.toString());
        assertEquals(f.entry() - text.addr() + text.offset(), f.entryFileOffset(), f.toString());
        byte[] head = new byte[16];
        b.elf().slice(f.entryFileOffset(), head.length, fn).get(0, head);
        assertTrue(fn.equals("runtime.goexit") ? isGoexit(head) : isStackCheckPrologue(head, r.goVersion()),
            fn + " does not start like a Go function: " + java.util.HexFormat.ofDelimiter(" ").formatHex(head));
        if (!fn.equals("runtime.goexit")) {
          long skip = EntrySites.find(b.elf(), f) - f.entryFileOffset();
          assertTrue(skip >= 6 && skip <= 40, fn + ": entry site past the stack check, +" + skip);
        }
      }
      checkEntrySites(b, p, text, r.goVersion());
      checkTableConsistency(b, p, text);
      checkFields(b, r);
    }
  }

  /** The same answers with the section header table zeroed (as sstrip leaves a binary): everything by scanning. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("releases")
  void readsEveryLayoutWithoutSectionHeaders(Release r) throws IOException {
    Path bin = TestBinaries.esbuild(r.esbuild());
    Path copy = Files.copy(bin, tmp.resolve("esbuild-" + r.esbuild()));
    try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(8), 0x28); // e_shoff
      ch.write(ByteBuffer.allocate(2), 0x3c); // e_shnum
      ch.write(ByteBuffer.allocate(2), 0x3e); // e_shstrndx
    }
    try (GoBinary full = GoBinary.open(bin); GoBinary bare = GoBinary.open(copy)) {
      assertTrue(bare.elf().sections().isEmpty());
      assertEquals(r.go(), bare.goVersion().raw());
      assertEquals(full.pclntab().vaddr(), bare.pclntab().vaddr());
      assertEquals(full.pclntab().functionCount(), bare.pclntab().functionCount());
      assertEquals(full.pclntab().textStart(), bare.pclntab().textStart());
      assertEquals(full.moduleData().address(), bare.moduleData().address());
      KnownLayouts.assertPlaced(r.layout(), bare.moduleData());
      assertEquals(full.function(SERVE_HTTP), bare.function(SERVE_HTTP));
      checkFields(bare, r);
    }
  }

  /**
   * Every function: a non-empty name that the name index maps back to a function of that name (Go keeps ABI
   * wrappers under their target's name, so names repeat) and, for unique names, to this very entry; entries strictly
   * increasing inside .text.
   */
  private static void checkTableConsistency(GoBinary b, Pclntab p, ElfSection text) {
    Map<String, Integer> count = new HashMap<>();
    for (int i = 0; i < p.functionCount(); i++) {
      count.merge(p.name(i), 1, Integer::sum);
    }
    long prev = text.addr() - 1;
    for (int i = 0; i < p.functionCount(); i++) {
      String name = p.name(i);
      long entry = p.entry(i);
      if (name.isEmpty() || entry <= prev || p.end(i) < entry || p.end(i) > text.addr() + text.size()) {
        fail(String.format("function %d '%s' [0x%x, 0x%x) after 0x%x", i, name, entry, p.end(i), prev));
      }
      prev = entry;
      OptionalInt found = p.find(name);
      if (found.isEmpty() || !p.name(found.getAsInt()).equals(name)) {
        fail("name index does not find function " + i + " '" + name + "'");
      }
      if (count.get(name) == 1 && b.function(name).orElseThrow().entry() != entry) {
        fail(String.format("'%s' resolves to 0x%x, not its entry 0x%x", name, b.function(name).get().entry(),
            entry));
      }
    }
  }

  /** The nethttp probe's fields as the agent resolves them (from type metadata: no DWARF) and as Go laid them out. */
  private static void checkFields(GoBinary b, Release r) {
    Map<String, Long> expected = expectedOffsets(r.goVersion());
    List<StructField> fields = NetHttpProbeSetFixture.allFields();
    List<ResolvedField> resolved = new FieldResolver(List.of(), null).resolveAll(b, fields, List.of());
    OffsetTable shipped = NetHttpProbeSetFixture.bundledTable();
    java.util.Set<String> found = new java.util.HashSet<>();
    resolved.forEach(f -> f.offset().ifPresent(o -> found.add(f.field().constant())));
    for (ResolvedField f : resolved) {
      if (f.source() == FieldSource.MISSING) {
        // Another release's name of a field (or a type this binary's type data does not reach): the constant must
        // come from a field that did resolve, or from the shipped table.
        assertTrue(found.contains(f.field().constant())
            || shipped.find(f.field().module(), r.goVersion(), f.field().structType(), f.field().field()).isPresent()
            || !expected.containsKey(f.field().qualifiedName()), f.toString());
        continue;
      }
      assertEquals(FieldSource.TYPE_METADATA, f.source(), f.toString());
      if (expected.containsKey(f.field().qualifiedName())) {
        assertEquals(expected.get(f.field().qualifiedName()), f.offset().getAsLong(), f.toString());
      }
      // The plugin's shipped table, where it covers this Go version, says the same.
      StructField sf = f.field();
      shipped.find(sf.module(), r.goVersion(), sf.structType(), sf.field()).ifPresent(m ->
          assertEquals(f.offset().getAsLong(), m.offset(), "shipped table " + m.origin() + " for " + f));
    }
    TypeMetadata types = TypeMetadata.of(b);
    for (String struct : List.of("net/http.Request", "net/url.URL", "net/http.response",
        "net/http.http2responseWriter", "net/http.http2responseWriterState")) {
      Map<String, Long> all = types.fields(struct);
      assertFalse(all.isEmpty(), struct);
      long prev = 0;
      for (Map.Entry<String, Long> e : all.entrySet()) {
        assertTrue(e.getValue() >= prev && e.getValue() < 4096, struct + " in declaration order: " + all);
        prev = e.getValue();
      }
    }
  }

  /** Every function that starts with a stack-bound check gets its entry site past it, none other. */
  private static void checkEntrySites(GoBinary b, Pclntab p, ElfSection text, GoVersion v) {
    int checked = 0;
    for (int i = 0; i + 1 < p.functionCount(); i++) {
      long entry = p.entry(i);
      long size = Math.min(p.entry(i + 1) - entry, 64);
      if (size < 24) {
        continue;
      }
      ByteBuffer head = b.elf().slice(entry - text.addr() + text.offset(), size, p.name(i));
      byte[] bytes = new byte[24];
      head.get(0, bytes);
      int skip = EntrySites.afterStackCheck(ElfFile.EM_X86_64, head);
      // Stack ABI: only checks against stackguard0 re-run the function (a few runtime functions compare with
      // stackguard1 and call morestackc, which throws).
      boolean guard0 = v.atLeast(1, 17) || startsWith(bytes, 9, 0x48, 0x3b, 0x61, 0x10)
          || startsWith(bytes, 9, 0x48, 0x8d, 0x44, 0x24) && startsWith(bytes, 14, 0x48, 0x3b, 0x41, 0x10);
      if (isStackCheckPrologue(bytes, v) && guard0) {
        assertTrue(skip >= 6 && skip <= 40, p.name(i) + ": stack check not passed, " + HexFormat.of().formatHex(bytes));
        checked++;
      } else if (v.atLeast(1, 17) && bytes[0] != 0x4c && bytes[0] != 0x49) {
        assertEquals(0, skip, p.name(i) + ": no stack check, " + HexFormat.of().formatHex(bytes));
      }
    }
    assertTrue(checked > 2_000, "functions with a stack check: " + checked);
  }

  /** Go's stack-bound check: {@code mov rcx, fs:-8} (stack ABI), else {@code cmp rsp|r12, [r14+16]} (register ABI). */
  static boolean isStackCheckPrologue(byte[] b, GoVersion v) {
    if (!v.atLeast(1, 17)) {
      return startsWith(b, 0, 0x64, 0x48, 0x8b, 0x0c, 0x25, 0xf8, 0xff, 0xff, 0xff);
    }
    return startsWith(b, 0, 0x49, 0x3b, 0x66, 0x10) // cmp rsp, [r14+16]
        || startsWith(b, 0, 0x4c, 0x8d, 0x64, 0x24) && startsWith(b, 5, 0x4d, 0x3b, 0x66, 0x10) // lea r12, [rsp-d8]
        || startsWith(b, 0, 0x4c, 0x8d, 0xa4, 0x24) && startsWith(b, 8, 0x4d, 0x3b, 0x66, 0x10); // lea r12, [rsp-d32]
  }

  /** {@code runtime.goexit}: a NOP (so that its return address is inside it), then {@code call goexit1}. */
  static boolean isGoexit(byte[] b) {
    return startsWith(b, 0, 0x90, 0xe8);
  }

  private static boolean startsWith(byte[] b, int at, int... want) {
    for (int i = 0; i < want.length; i++) {
      if ((b[at + i] & 0xff) != want[i]) {
        return false;
      }
    }
    return true;
  }

  /** {@code go version <bin>}'s answer, empty when the toolchain cannot read the file. */
  private static Optional<String> goToolVersion(Path bin) {
    // "<path>: go1.20.12", or "<path>: could not read Go build info ..." (exit status 0 in Go 1.19)
    Matcher m = GO_VERSION_LINE.matcher(goTool("version", bin.toString()));
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** The trimmed output of {@code go <args>}, "" when it fails. */
  private static String goTool(String... args) {
    List<String> cmd = new java.util.ArrayList<>(GoBuilder.go());
    cmd.addAll(List.of(args));
    try {
      Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return proc.waitFor(60, TimeUnit.SECONDS) && proc.exitValue() == 0 ? out : "";
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }
}
