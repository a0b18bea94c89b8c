package io.goscope.platform.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.sys.Clocks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class KernelClockTest {

  private static long nowEpochNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  @Test
  void monotonicClockIsTheKernelsUptimeClock() throws Exception {
    Clocks clocks = Clocks.create();
    double uptimeSeconds = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
    double monotonicSeconds = clocks.monotonicNanos() / 1e9;
    // /proc/uptime is CLOCK_BOOTTIME: equal to CLOCK_MONOTONIC unless the machine was suspended.
    assertTrue(monotonicSeconds <= uptimeSeconds + 0.1, monotonicSeconds + " vs uptime " + uptimeSeconds);
    assertTrue(monotonicSeconds > 0);
  }

  @Test
  void offsetIsMeasuredTightly() {
    Clocks.Offset offset = Clocks.create().realtimeMinusMonotonic(9);
    System.out.printf("realtime-monotonic offset=%d ns uncertainty=%d ns%n", offset.nanos(),
        offset.uncertaintyNanos());
    assertTrue(offset.uncertaintyNanos() < 1_000_000, "uncertainty " + offset.uncertaintyNanos());
  }

  @Test
  void convertsAKernelTimestampOfNowToWallClockNow() {
    KernelClock clock = KernelClock.system();
    Clocks clocks = Clocks.create();
    long before = nowEpochNanos();
    long converted = clock.toEpochNanos(clocks.monotonicNanos());
    long after = nowEpochNanos();
    // Instant.now() has microsecond resolution here; allow 2 ms for JIT/scheduling noise.
    assertTrue(converted >= before - 2_000_000 && converted <= after + 2_000_000,
        "converted=" + converted + " before=" + before + " after=" + after);
  }

  @Test
  void recalibratesAfterTheInterval() throws Exception {
    KernelClock clock = KernelClock.system(Duration.ofMillis(1));
    long first = clock.offsetNanos();
    Thread.sleep(5);
    clock.toEpochNanos(0); // triggers recalibration
    assertTrue(Math.abs(clock.offsetNanos() - first) < 1_000_000,
        "offset moved by " + (clock.offsetNanos() - first) + " ns without a clock step");
  }

  @Test
  void fixedOffsetAddsTheOffset() {
    assertEquals(1_042L, KernelClock.fixedOffset(1_000).toEpochNanos(42));
  }
}
