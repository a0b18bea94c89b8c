package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.sys.CapstoneX86Decoder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A stripped binary from a much newer Go (esbuild from npm {@code @esbuild/linux-x64}, Go 1.26 at the time of
 * writing: pclntab textStart 0, moduledata in {@code .go.module}, no build-info blob). The test fetches nothing: set
 * {@code GOSCOPE_ESBUILD} (env or system property) to the {@code package/bin/esbuild} path.
 */
class NewGoBinaryTest {

  private static Path esbuild() {
    return io.goscope.testing.TestBinaries.esbuild();
  }

  @Test
  void readsNewestGoLayout() {
    Path bin = esbuild();
    assertTrue(GoBinary.looksLikeGo(bin));
    long t0 = System.nanoTime();
    try (GoBinary b = GoBinary.open(bin)) {
      assertTrue(b.stripped());
      Pclntab p = b.pclntab();
      assertEquals(Pclntab.MAGIC_120, p.magic());
      ModuleData md = b.moduleData();
      ElfSection text = b.elf().section(".text").orElseThrow();
      assertEquals(text.addr(), md.text(), "moduledata.text");
      assertEquals(text.addr(), p.textStart(), "pclntab text base");
      b.elf().section(".typelink").ifPresent(s -> assertEquals(s.size() / 4, md.typelinksCount()));
      assertTrue(b.goVersion().atLeast(1, 20), "go version " + b.goVersion());
      if (b.goVersion().atLeast(1, 26) && !b.goVersion().atLeast(1, 27)) {
        KnownLayouts.assertPlaced(KnownLayouts.GO_1_26, md);
      }
      GoBuildInfo bi = b.buildInfo().orElseThrow();
      assertEquals("github.com/evanw/esbuild", bi.main().path());
      GoFunction f = b.function("net/http.serverHandler.ServeHTTP").orElseThrow();
      assertTrue(f.entry() >= md.text() && f.end() <= md.etext() + 16, f.toString());
      assertEquals("net/http.serverHandler.ServeHTTP", p.name(p.find(f.name()).orElseThrow()));
      if (CapstoneX86Decoder.available()) {
        GoFunction withRets = b.functionWithReturns(f.name()).orElseThrow();
        assertFalse(withRets.returnFileOffsets().isEmpty());
        for (long off : withRets.returnFileOffsets()) {
          assertEquals((byte) 0xc3, b.elf().slice(off, 1, "ret").get(0));
        }
      }
    }
    System.out.printf("esbuild analysed in %.1f ms%n", (System.nanoTime() - t0) / 1e6);
  }
}
