package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Corrupted DWARF and type data must only ever raise GoBinaryFormatException (or answer nothing), never hang. */
class FieldResolverCorruptionTest {

  @Test
  void corruptedDwarfRaisesOnlyFormatErrors() throws IOException {
    MiniElf elf = new MiniElf(FieldFixtures.uncompressed());
    ByteBuffer info = elf.section(".debug_info").orElseThrow();
    ByteBuffer abbrev = elf.section(".debug_abbrev").orElseThrow();
    Random rnd = new Random(42);
    int errors = 0;
    for (int round = 0; round < 40; round++) {
      byte[] a = new byte[Math.min(info.capacity(), 300_000)];
      info.get(0, a);
      byte[] b = new byte[abbrev.capacity()];
      abbrev.get(0, b);
      for (int i = 0; i < 20; i++) {
        if (rnd.nextBoolean()) {
          a[rnd.nextInt(a.length)] = (byte) rnd.nextInt();
        } else {
          b[rnd.nextInt(b.length)] = (byte) rnd.nextInt();
        }
      }
      ByteBuffer ia = ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer ab = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
      DwarfStructs d = DwarfStructs.of("fuzz", n -> switch (n) {
        case ".debug_info" -> Optional.of(ia);
        case ".debug_abbrev" -> Optional.of(ab);
        default -> elf.section(n);
      }).orElseThrow();
      try {
        d.offset("net/http.Request", "Method");
        d.offset("net/url.URL", "Path");
      } catch (GoBinaryFormatException e) {
        errors++;
        assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
      }
    }
    assertTrue(errors > 0, "some rounds should hit corrupt data");
  }

  @Test
  void bogusTypelinksAreSkipped() throws IOException {
    MiniElf elf = new MiniElf(FieldFixtures.strippedSw());
    MiniElf.Module m = elf.module119();
    Random rnd = new Random(7);
    int[] links = new int[2000];
    for (int i = 0; i < links.length; i++) {
      links[i] = rnd.nextInt((int) (m.etypes() - m.types())) & ~7;
    }
    TypeMetadata t = new TypeMetadata(elf.addressSpace(), m.types(), m.etypes(), links,
        GoVersion.parse("go1.19.8"));
    t.offset("net/http.Request", "Method"); // may or may not be found; must not throw
    assertTrue(t.visitedTypes() <= TypeMetadata.MAX_VISITED);
  }
}
