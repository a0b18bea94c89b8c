package io.goscope.platform.gobinary.fuzz;

import io.goscope.platform.gobinary.ElfFile;
import io.goscope.platform.gobinary.ElfSection;
import io.goscope.testing.GoBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;

/**
 * Real Go binaries used as seeds (a net/http server: default, {@code -s -w}, PIE), built once per JVM, with the
 * byte regions worth mutating: ELF/program headers, the section header table and the Go metadata sections.
 */
final class FuzzSeeds {
  static final Path SRC = Path.of("src/test/resources/gobinary/httpserver");
  static final Path OUT = Path.of("target/fuzz-seeds");

  /** A byte range of a seed, by what it holds. */
  record Region(String name, long start, long end) {}

  /** A seed binary: path, bytes and its regions (region 0 is the whole file). */
  record Seed(String name, Path path, byte[] bytes, List<Region> regions) {
    Region region(int selector) {
      return regions.get(Math.floorMod(selector, regions.size()));
    }

    Region region(String regionName) {
      return regions.stream().filter(r -> r.name().equals(regionName)).findFirst()
          .orElseThrow(() -> new IllegalStateException(name + " has no region " + regionName));
    }
  }

  private static final Map<String, Seed> SEEDS = new LinkedHashMap<>();

  private FuzzSeeds() {}

  static void assumeGo() {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
  }

  static Seed plain() {
    return seed("plain", List.of());
  }

  static Seed stripped() {
    return seed("stripped", List.of("-ldflags=-s -w"));
  }

  static Seed pie() {
    return seed("pie", List.of("-buildmode=pie", "-ldflags=-s -w"));
  }

  static List<Seed> all() {
    return List.of(stripped(), plain(), pie());
  }

  private static synchronized Seed seed(String name, List<String> flags) {
    Seed s = SEEDS.get(name);
    if (s == null) {
      assumeGo();
      Path bin = GoBuilder.build(SRC, OUT.resolve(name), flags, Map.of()).toAbsolutePath();
      try {
        byte[] bytes = Files.readAllBytes(bin);
        s = new Seed(name, bin, bytes, regions(bin, bytes));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      SEEDS.put(name, s);
    }
    return s;
  }

  private static List<Region> regions(Path bin, byte[] bytes) {
    List<Region> out = new ArrayList<>();
    out.add(new Region("file", 0, bytes.length));
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long phoff = b.getLong(32);
    int phnum = b.getShort(56) & 0xffff;
    out.add(new Region("headers", 0, phoff + phnum * 56L));
    long shoff = b.getLong(40);
    int shnum = b.getShort(60) & 0xffff;
    if (shoff > 0) {
      out.add(new Region("section-headers", shoff, shoff + shnum * 64L));
    }
    try (ElfFile elf = ElfFile.open(bin)) {
      for (ElfSection s : elf.sections()) {
        if (s.hasFileData() && s.size() > 0 && List.of(".gopclntab", ".go.buildinfo", ".noptrdata", ".data",
            ".typelink", ".itablink", ".rodata", ".shstrtab", ".symtab", ".rela.dyn", ".note.go.buildid",
            ".zdebug_info", ".zdebug_abbrev", ".debug_info", ".debug_abbrev", ".data.rel.ro").contains(s.name())) {
          out.add(new Region(s.name(), s.offset(), s.offset() + s.size()));
        }
      }
    }
    return List.copyOf(out);
  }
}
