package io.goscope.platform.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GoDetectorTest {
  @TempDir Path tmp;

  /** A Go binary that exists on the build machine: the Go toolchain's own gofmt. */
  private static Path goBinary() {
    for (String candidate : new String[] {"/usr/lib/go-1.19/bin/gofmt", "/usr/lib/go/bin/gofmt",
        "/usr/local/go/bin/gofmt"}) {
      Path p = Path.of(candidate);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    Assumptions.abort("no Go toolchain binary found (gofmt)");
    return null;
  }

  @Test
  void detectsGoBinary() throws IOException {
    assertTrue(GoDetector.inspect(goBinary()));
  }

  @Test
  void nonGoBinariesAreNot() throws IOException {
    assertFalse(GoDetector.inspect(Path.of("/bin/sh").toRealPath()));
    assertFalse(GoDetector.inspect(Path.of(ProcessHandle.current().info().command().orElseThrow())));
    assertFalse(GoDetector.inspect(Files.writeString(tmp.resolve("script"), "#!/bin/sh\necho hi\n")));
    assertFalse(GoDetector.inspect(Files.write(tmp.resolve("empty"), new byte[0])));
    assertFalse(GoDetector.inspect(Files.write(tmp.resolve("tiny"), new byte[] {0x7f, 'E', 'L', 'F'})));
  }

  @Test
  void detectsGoBinaryWithoutSectionHeadersByBuildInfoMagic() throws IOException {
    Path copy = Files.copy(goBinary(), tmp.resolve("nosections"));
    try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer zero = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      ch.write(zero, 0x28); // e_shoff
      ch.write(ByteBuffer.allocate(2), 0x3c); // e_shnum
      ch.write(ByteBuffer.allocate(2), 0x3e); // e_shstrndx
    }
    assertTrue(GoDetector.inspect(copy));
  }

  @Test
  void hostileHeadersDoNotThrow() throws IOException {
    Random random = new Random(42);
    byte[] bytes = new byte[4096];
    for (int round = 0; round < 200; round++) {
      random.nextBytes(bytes);
      bytes[0] = 0x7f;
      bytes[1] = 'E';
      bytes[2] = 'L';
      bytes[3] = 'F';
      bytes[4] = (byte) (1 + random.nextInt(2));
      bytes[5] = (byte) (1 + random.nextInt(2));
      Path file = Files.write(tmp.resolve("fuzz"), bytes);
      assertFalse(GoDetector.inspect(file)); // the magic is vanishingly unlikely in random bytes
    }
  }

  @Test
  void cachesByKeyAndIsBounded() throws IOException {
    GoDetector detector = new GoDetector(2);
    Path go = Files.copy(goBinary(), tmp.resolve("go-app"));
    ExecutableKey key = new ExecutableKey(1, 2, 3);
    assertEquals(Optional.of(true), detector.isGoBinary(go, key));
    Files.delete(go);
    assertEquals(Optional.of(true), detector.isGoBinary(go, key), "served from cache");
    assertEquals(Optional.empty(), detector.isGoBinary(go, new ExecutableKey(1, 2, 4)), "vanished, not cached");
    Path sh = Path.of("/bin/sh").toRealPath();
    assertEquals(Optional.of(false), detector.isGoBinary(sh, new ExecutableKey(9, 9, 9)));
    assertEquals(Optional.of(false), detector.isGoBinary(sh, new ExecutableKey(9, 9, 10)));
    assertEquals(2, detector.cacheSize());
  }

  @Test
  void ownExecutableThroughProcSnapshot() {
    ProcFs fs = new ProcFs(Path.of("/proc"));
    ProcessSnapshot self = fs.snapshot((int) ProcessHandle.current().pid()).orElseThrow();
    assertEquals(Optional.of(false), new GoDetector().isGoBinary(self.exeLink(), self.executableKey()));
  }
}
