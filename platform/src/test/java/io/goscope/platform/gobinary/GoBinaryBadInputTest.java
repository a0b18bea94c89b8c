package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.GoBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile and broken inputs: only {@link GoBinaryFormatException}, naming the file, and no hang. */
class GoBinaryBadInputTest {
  @TempDir Path dir;

  private void assertRejected(Path p, String expectedFragment) {
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      GoBinaryFormatException e = assertThrows(GoBinaryFormatException.class, () -> {
        try (GoBinary b = GoBinary.open(p)) {
          b.function("main.main");
          b.moduleData();
          b.buildInfo();
        }
      });
      assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
      if (expectedFragment != null) {
        assertTrue(e.getMessage().contains(expectedFragment), e.getMessage());
      }
    });
    assertFalse(GoBinary.looksLikeGo(p) && !Files.isRegularFile(p));
  }

  @Test
  void emptyFile() throws IOException {
    assertRejected(Files.write(dir.resolve("empty"), new byte[0]), "too small");
  }

  @Test
  void notElf() throws IOException {
    byte[] junk = new byte[4096];
    Arrays.fill(junk, (byte) 'A');
    assertRejected(Files.write(dir.resolve("text"), junk), "not an ELF");
  }

  @Test
  void elf32() throws IOException {
    byte[] h = new byte[64];
    h[0] = 0x7f;
    h[1] = 'E';
    h[2] = 'L';
    h[3] = 'F';
    h[4] = 1;
    h[5] = 1;
    assertRejected(Files.write(dir.resolve("elf32"), h), "32-bit ELF not supported");
  }

  @Test
  void directory() {
    assertRejected(dir, "directory");
  }

  @Test
  void nonGoElf() {
    assertRejected(Path.of("/bin/true"), "pclntab");
  }

  private static byte[] goBinary() throws IOException {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
    Path bin = GoBuilder.build(GoBinaryMatrixTest.SRC, GoBinaryMatrixTest.OUT.resolve("stripped"),
        java.util.List.of("-ldflags=-s -w"), Map.of());
    return Files.readAllBytes(bin);
  }

  @Test
  void truncatedAtSeveralPoints() throws IOException {
    byte[] full = goBinary();
    for (int cut : new int[] {10, 63, 64, 200, 4096, full.length / 3, full.length / 2, full.length - 4096}) {
      assertRejected(Files.write(dir.resolve("cut" + cut), Arrays.copyOf(full, cut)), null);
    }
  }

  @Test
  void sectionHeaderClaimingHugeSize() throws IOException {
    byte[] full = goBinary();
    ByteBuffer b = ByteBuffer.wrap(full).order(ByteOrder.LITTLE_ENDIAN);
    long shoff = b.getLong(40);
    int shentsize = b.getShort(58);
    int shnum = b.getShort(60);
    for (int i = 1; i < shnum; i++) {
      if (b.getInt((int) (shoff + (long) i * shentsize + 4)) == ElfSection.SHT_NOBITS) {
        continue; // no file bytes: a huge size is legal there
      }
      byte[] copy = full.clone();
      ByteBuffer c = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
      c.putLong((int) (shoff + (long) i * shentsize + 32), 0x7fff_ffff_ffffL);
      Path p = Files.write(dir.resolve("huge" + i), copy);
      assertRejected(p, null);
    }
  }

  @Test
  void randomCorruptionOnlyFormatErrors() throws IOException {
    byte[] full = goBinary();
    Random r = new Random(42);
    Path p = dir.resolve("mutant");
    for (int round = 0; round < 60; round++) {
      byte[] copy = full.clone();
      for (int k = 0; k < 8; k++) {
        int at = r.nextInt(round % 2 == 0 ? 4096 : copy.length);
        copy[at] = (byte) r.nextInt();
      }
      Files.write(p, copy);
      assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
        try (GoBinary b = GoBinary.open(p)) {
          b.function("net/http.serverHandler.ServeHTTP");
          b.moduleData();
          b.buildInfo();
        } catch (GoBinaryFormatException expected) {
          assertTrue(expected.getMessage().contains(p.toString()));
        }
      });
    }
  }
}
