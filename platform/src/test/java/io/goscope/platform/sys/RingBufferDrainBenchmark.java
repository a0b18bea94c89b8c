package io.goscope.platform.sys;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One-off measurement, not a test: fills a 32 MiB ring buffer through the test uprobe (no consumer running), then
 * times {@link RingBufferReader#drain} over the full ring, several rounds for JIT warm-up. Run as root with the
 * test classpath: {@code java -cp ... io.goscope.platform.sys.RingBufferDrainBenchmark}.
 */
final class RingBufferDrainBenchmark {
  private RingBufferDrainBenchmark() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int ringSize = 32 << 20;
    int calls = ringSize / 48;
    byte[] object = SysTestPrograms.bpfObject();
    Path program = SysTestPrograms.goProgram();
    long offset = SysTestPrograms.fileOffset(program, "main.work");
    try (BpfMap ring = BpfMap.createRingBuffer("gs_bench", ringSize);
        BpfObject o = BpfObject.open("sys_test", object)) {
      o.reuseMap("goscope_events", ring);
      o.load();
      try (RingBufferReader reader = new RingBufferReader(ring)) {
        long[] sink = new long[1];
        for (int round = 0; round < rounds; round++) {
          Path start = Files.createTempFile("gs-bench", "");
          Files.delete(start);
          Process p = new ProcessBuilder(program.toString(), Integer.toString(calls), start.toString())
              .redirectErrorStream(true).start();
          p.getInputStream().read(new byte[6]);
          try (UprobeLink link = o.attachUprobe("test_uprobe", (int) p.pid(), program.toString(), offset, 1)) {
            long f0 = System.nanoTime();
            Files.writeString(start, "go");
            p.waitFor();
            long fillNanos = System.nanoTime() - f0;
            long t0 = System.nanoTime();
            int n = reader.drain(r -> sink[0] += r.getLong(r.position() + 8));
            long nanos = System.nanoTime() - t0;
            System.out.printf(
                "round %d: fill %d calls in %.0f ms; drained %d records in %.2f ms = %.1f M records/s (%.0f MB/s)%n",
                round, calls, fillNanos / 1e6, n, nanos / 1e6, n / (nanos / 1e3), n * 48.0 / (nanos / 1e3));
          }
          Files.deleteIfExists(start);
        }
        System.out.println("dropped=" + o.map("goscope_lost").sumPerCpuU64(0) + " sink=" + sink[0]);
      }
    }
  }
}
