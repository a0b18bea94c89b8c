package io.goscope.bench;

import io.goscope.platform.discovery.ProcFs;
import io.goscope.platform.discovery.ProcessScanner;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Cost of one /proc poll ({@link ProcessScanner#scan()}: list the pids, read each one's start time, diff) on the
 * current machine, so the poll interval can be judged on a busy node. Prints the process count and the median and
 * p99 wall and CPU time per scan, full (every start time re-read) and listing-only (start times of new pids
 * only), and the CPU share of one core of the agent's poll, which verifies one scan in ten.
 *
 * <p>Usage: {@code ProcScanBenchmark [procRoot] [scans] [pollIntervalMs]}; run by {@code dist/bench/proc-scan.sh},
 * which first starts the idle processes that make the node busy.
 */
public final class ProcScanBenchmark {
  private ProcScanBenchmark() {}

  public static void main(String[] args) {
    Path root = Path.of(args.length > 0 ? args[0] : "/proc");
    int scans = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    long intervalMs = args.length > 2 ? Long.parseLong(args[2]) : 1000;
    ProcessScanner scanner = new ProcessScanner(new ProcFs(root));
    double full = measure(scanner, true, scans, intervalMs);
    double listing = measure(scanner, false, scans, intervalMs);
    // The agent's poll: VERIFY_EVERY - 1 listing scans for each verifying one.
    int every = 10;
    double pollCpuMs = (full + (every - 1) * listing) / every;
    System.out.printf("agent poll (1 verifying scan in %d): cpu %.2f ms per poll, %.2f%% of a core at %d ms;"
        + " full/listing cpu ratio %.1f%n", every, pollCpuMs, 100.0 * pollCpuMs / intervalMs, intervalMs,
        full / listing);
  }

  /** Prints one mode's numbers and returns its median CPU ms per scan. */
  private static double measure(ProcessScanner scanner, boolean verifyKnown, int scans, long intervalMs) {
    java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    for (int i = 0; i < 50; i++) {
      scanner.scan(verifyKnown); // warm-up: JIT and the dentry cache
    }
    long[] wall = new long[scans];
    long[] cpu = new long[scans];
    for (int i = 0; i < scans; i++) {
      long c0 = threads.getCurrentThreadCpuTime();
      long t0 = System.nanoTime();
      scanner.scan(verifyKnown);
      wall[i] = System.nanoTime() - t0;
      cpu[i] = threads.getCurrentThreadCpuTime() - c0;
    }
    Arrays.sort(wall);
    Arrays.sort(cpu);
    int processes = scanner.known().size();
    double medianCpuMs = cpu[scans / 2] / 1e6;
    System.out.printf("%-9s processes=%d scans=%d wall median=%.2f ms p99=%.2f ms cpu median=%.2f ms p99=%.2f ms"
            + " per-process=%.1f us cpu-share-at-%dms=%.2f%%%n",
        verifyKnown ? "full" : "listing", processes, scans, wall[scans / 2] / 1e6, wall[(int) (scans * 0.99)] / 1e6,
        medianCpuMs, cpu[(int) (scans * 0.99)] / 1e6, cpu[scans / 2] / 1e3 / Math.max(1, processes), intervalMs,
        100.0 * medianCpuMs / intervalMs);
    return medianCpuMs;
  }
}
