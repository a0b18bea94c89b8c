package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Go executable: ELF, build info, function table and module data, each parsed lazily on first use so that
 * opening a large stripped binary and looking up a handful of functions stays cheap.
 */
public final class GoBinary implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GoBinary.class);
  private static final int QUICK_CHECK_BYTES = 64 * 1024;

  private final ElfFile elf;
  private Optional<GoBuildInfo> buildInfo;
  /** The located pclntab; its text base may still be unresolved (see {@link #pclntab()}). */
  private Pclntab located;
  private boolean textBaseResolved;
  private ModuleData moduleData;
  private ModuleDataNotFoundException moduleDataFailure;
  private GoVersion version;

  private GoBinary(ElfFile elf) {
    this.elf = elf;
  }

  /**
   * Opens {@code path} and checks that it is a Go binary (it has a pclntab). Where the function table's text base
   * comes from the module data (Go 1.26+ without symbols), it is resolved on first use, so that a binary whose
   * module data cannot be found still opens and reports its build info.
   *
   * @throws GoBinaryFormatException if it is not a readable 64-bit ELF Go binary
   */
  public static GoBinary open(Path path) {
    ElfFile elf = ElfFile.open(path);
    try {
      GoBinary b = new GoBinary(elf);
      b.guard("pclntab", b::locatedPclntab);
      return b;
    } catch (RuntimeException e) {
      elf.close();
      if (e instanceof GoBinaryFormatException) {
        throw e;
      }
      throw new GoBinaryFormatException(path.toString(), "corrupt Go metadata: " + e, e);
    }
  }

  /**
   * A cheap test (header and section names only, no scan of data): ELF64 with a {@code .go.buildinfo},
   * {@code .gopclntab} or {@code .note.go.buildid} section, or a Go build ID at the start of the text.
   */
  public static boolean looksLikeGo(Path path) {
    requireNonNull(path, "path");
    if (!Files.isRegularFile(path)) {
      return false;
    }
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      ByteBuffer head = ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      if (ch.read(head, 0) != 4 || head.getInt(0) != 0x464c457f) {
        return false;
      }
    } catch (java.io.IOException e) {
      return false;
    }
    try (ElfFile e = ElfFile.open(path)) {
      for (String s : new String[] {".go.buildinfo", ".gopclntab", ".data.rel.ro.gopclntab", ".note.go.buildid"}) {
        if (e.section(s).isPresent()) {
          return true;
        }
      }
      if (e.goBuildId().isPresent()) {
        return true;
      }
      for (ElfSegment seg : e.loadSegments()) {
        if (seg.writable()) {
          ByteBuffer b = e.slice(seg.offset(), Math.min(seg.filesz(), QUICK_CHECK_BYTES), "data");
          for (int off = 0; off + 16 <= b.capacity(); off += 16) {
            if (GoBuildInfo.startsWith(b, off, GoBuildInfo.MAGIC)) {
              return true;
            }
          }
        }
      }
      return false;
    } catch (GoBinaryFormatException ex) {
      return false;
    }
  }

  public ElfFile elf() {
    return elf;
  }

  public Path path() {
    return elf.path();
  }

  /** Build info from .go.buildinfo, else from the runtime's version/modinfo strings; empty if neither is found. */
  public Optional<GoBuildInfo> buildInfo() {
    return guard("build info", this::buildInfo0);
  }

  private Optional<GoBuildInfo> buildInfo0() {
    if (buildInfo == null) {
      Optional<GoBuildInfo> bi = GoBuildInfo.read(elf);
      if (bi.isEmpty()) {
        bi = GoBuildInfo.fromRuntimeStrings(elf);
      }
      buildInfo = bi;
    }
    return buildInfo;
  }

  /**
   * The Go toolchain version: from build info, else from {@code runtime.buildVersion}, else the oldest release
   * writing this pclntab format (a lower bound).
   */
  public GoVersion goVersion() {
    if (version == null) {
      version = buildInfo().map(GoBuildInfo::goVersion).orElseGet(() -> locatedPclntab().minGoVersion());
    }
    return version;
  }

  /** Whether the binary has no .symtab. */
  public boolean stripped() {
    return !elf.hasSymtab();
  }

  public boolean isPie() {
    return elf.isPie();
  }

  /** The Go build ID, else the GNU build ID. */
  public Optional<String> buildId() {
    Optional<String> go = elf.goBuildId();
    return go.isPresent() ? go : elf.gnuBuildId();
  }

  public AddressSpace addressSpace() {
    return elf.addressSpace();
  }

  /**
   * The function table, with textStart resolved through the module data when the header lacks it (Go 1.26+).
   *
   * @throws ModuleDataNotFoundException when the text base is needed and no module data satisfies the invariants
   */
  public Pclntab pclntab() {
    return guard("pclntab", this::pclntab0);
  }

  private Pclntab locatedPclntab() {
    if (located == null) {
      located = Pclntab.locate(elf);
    }
    return located;
  }

  private Pclntab pclntab0() {
    Pclntab p = locatedPclntab();
    if (!textBaseResolved) {
      if (p.needsTextStart()) {
        p.useTextStart(textBase(p));
      }
      textBaseResolved = true;
    }
    return p;
  }

  private long textBase(Pclntab p) {
    Optional<ElfSymbol> text = elf.symbol("runtime.text");
    if (text.isPresent()) {
      return text.get().value();
    }
    ModuleData md = moduleData0();
    LOG.debug("pclntab textStart taken from moduledata file={} text=0x{} via={}", elf.path(),
        Long.toHexString(md.text()), md.foundBy());
    return md.text();
  }

  /**
   * The first module data (text range, types, type links, itabs).
   *
   * @throws ModuleDataNotFoundException naming the failed invariant of every candidate when none qualifies
   */
  public ModuleData moduleData() {
    return guard("moduledata", this::moduleData0);
  }

  private ModuleData moduleData0() {
    if (moduleDataFailure != null) {
      throw moduleDataFailure;
    }
    if (moduleData == null) {
      try {
        moduleData = ModuleData.locate(elf, locatedPclntab(), buildInfo().map(GoBuildInfo::goVersion).orElse(null));
      } catch (ModuleDataNotFoundException e) {
        moduleDataFailure = e;
        throw e;
      }
    }
    return moduleData;
  }

  /**
   * Looks a function up by its Go symbol name ({@code net/http.serverHandler.ServeHTTP}): .symtab first, the pclntab
   * when stripped. The result has no return sites; use {@link #functionWithReturns(String)} for those.
   */
  public Optional<GoFunction> function(String name) {
    requireNonNull(name, "name");
    return guard("function " + name, () -> function0(name));
  }

  private Optional<GoFunction> function0(String name) {
    Optional<ElfSymbol> sym = elf.symbol(name);
    if (sym.isPresent() && sym.get().isFunction() && sym.get().size() > 0) {
      long entry = sym.get().value();
      return Optional.of(new GoFunction(name, entry, entry + sym.get().size(), elf.fileOffsetForVaddr(entry),
          java.util.List.of()));
    }
    Pclntab p = pclntab();
    OptionalInt i = p.find(name);
    if (i.isEmpty()) {
      return Optional.empty();
    }
    long entry = p.entry(i.getAsInt());
    return Optional.of(new GoFunction(name, entry, p.end(i.getAsInt()), elf.fileOffsetForVaddr(entry),
        java.util.List.of()));
  }

  /** {@link #function(String)} with its return sites decoded. */
  public Optional<GoFunction> functionWithReturns(String name) {
    Optional<GoFunction> fn = function(name);
    return guard("return sites of " + name, () -> fn.map(f -> f.withReturnFileOffsets(ReturnSites.find(this, f))));
  }

  /** Turns unchecked decoding slips on corrupt input into a {@link GoBinaryFormatException} naming the file. */
  private <T> T guard(String what, java.util.function.Supplier<T> body) {
    try {
      return body.get();
    } catch (GoBinaryFormatException e) {
      throw e;
    } catch (IndexOutOfBoundsException | java.nio.BufferUnderflowException | IllegalArgumentException
        | ArithmeticException | NegativeArraySizeException e) {
      throw elf.error(what + ": corrupt data (" + e + ")", e);
    } catch (InternalError e) {
      throw ElfFile.mappedFault(elf, what, e);
    }
  }

  @Override
  public void close() {
    elf.close();
  }

  @Override
  public String toString() {
    return "GoBinary[" + elf.path() + "]";
  }
}
