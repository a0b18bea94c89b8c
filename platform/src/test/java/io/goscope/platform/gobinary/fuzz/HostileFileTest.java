package io.goscope.platform.gobinary.fuzz;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.GoBinaryFormatException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files that are not what they claim: huge sparse files, device files, FIFOs, files that vanish or shrink while
 * mapped. The contract: a {@link GoBinaryFormatException} naming the file within {@value #SECONDS} s, no read of
 * gigabytes, no JVM-level fault escaping.
 */
class HostileFileTest {
  static final int SECONDS = 2;

  @TempDir Path dir;

  private static void analyse(Path p) {
    try (GoBinary b = GoBinary.open(p)) {
      b.buildInfo();
      b.function(FuzzTargets.SERVE_HTTP);
      b.moduleData();
    }
  }

  /**
   * "Quickly" is CPU time of the analysing thread, which a loaded machine does not inflate (a 2-core CI machine
   * busy with other builds took 2.1 s of wall time for 0.5 s of work); the wall-clock limit only catches hangs.
   */
  private static void assertRejectedQuickly(Path p) {
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    long[] cpu = new long[1];
    GoBinaryFormatException e = assertTimeoutPreemptively(Duration.ofSeconds(SECONDS * 5), () -> {
      long t0 = threads.getCurrentThreadCpuTime();
      try {
        return assertThrows(GoBinaryFormatException.class, () -> analyse(p));
      } finally {
        cpu[0] = threads.getCurrentThreadCpuTime() - t0;
      }
    });
    assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    assertTrue(cpu[0] < SECONDS * 1_000_000_000L, "took " + cpu[0] / 1_000_000 + " ms of CPU: " + p);
  }

  /** An ELF header with one PT_LOAD segment covering {@code filesz} bytes, and no section headers. */
  private static byte[] elfWithLoad(long filesz, int flags) {
    ByteBuffer h = ByteBuffer.allocate(64 + 56).order(ByteOrder.LITTLE_ENDIAN);
    h.putInt(0, 0x464c457f).put(4, (byte) 2).put(5, (byte) 1).put(6, (byte) 1);
    h.putShort(16, (short) 2).putShort(18, (short) 62).putLong(32, 64).putShort(52, (short) 64)
        .putShort(54, (short) 56).putShort(56, (short) 1);
    h.putInt(64, 1).putInt(68, flags).putLong(72, 0).putLong(80, 0x400000).putLong(88, 0x400000)
        .putLong(96, filesz).putLong(104, filesz).putLong(112, 4096);
    return h.array();
  }

  private Path sparse(String name, byte[] head, long length) throws IOException {
    Path p = dir.resolve(name);
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.write(head);
      f.setLength(length);
    }
    return p;
  }

  @Test
  void sparseTerabyteFileIsRejectedWithoutMapping() throws IOException {
    assertRejectedQuickly(sparse("tera", elfWithLoad(1L << 40, 4), 1L << 40));
  }

  @Test
  void sparseGigabyteSegmentIsNotScannedWhole() throws IOException {
    long len = (1L << 31) - 4096; // just under the 2 GiB mapping limit
    Path p = sparse("giga", elfWithLoad(len, 6), len);
    assertRejectedQuickly(p);
  }

  @Test
  void characterDeviceIsRejected() {
    Path zero = Path.of("/dev/zero");
    Assumptions.assumeTrue(Files.exists(zero));
    assertRejectedQuickly(zero);
  }

  @Test
  void fifoIsRejectedWithoutBlocking() throws Exception {
    Path fifo = dir.resolve("fifo");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    Assumptions.assumeTrue(mk.waitFor() == 0, "mkfifo unavailable");
    assertRejectedQuickly(fifo);
  }

  @Test
  void fileDeletedBeforeOpen() {
    assertRejectedQuickly(dir.resolve("gone"));
  }

  @Test
  void fileDeletedWhileMappedStillParses() throws IOException {
    Path p = Files.copy(FuzzSeeds.stripped().path(), dir.resolve("deleted"));
    try (GoBinary b = GoBinary.open(p)) {
      Files.delete(p);
      assertTrue(b.function(FuzzTargets.SERVE_HTTP).isPresent());
      b.moduleData();
    }
  }

  @Test
  void fileTruncatedWhileMappedGivesTypedError() throws IOException {
    Path p = Files.copy(FuzzSeeds.stripped().path(), dir.resolve("shrunk"));
    assertTimeoutPreemptively(Duration.ofSeconds(SECONDS * 5), () -> {
      try (GoBinary b = GoBinary.open(p)) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
          ch.truncate(4096);
        }
        GoBinaryFormatException e = assertThrows(GoBinaryFormatException.class, () -> {
          b.buildInfo();
          b.functionWithReturns(FuzzTargets.SERVE_HTTP);
          b.moduleData();
        });
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
      }
    });
  }
}
