package io.goscope.platform.export;

import static java.util.Objects.requireNonNull;

import io.goscope.platform.sys.Clocks;
import java.time.Duration;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converts kernel monotonic timestamps ({@code bpf_ktime_get_ns}, {@code CLOCK_MONOTONIC}) to nanoseconds since the
 * Unix epoch.
 *
 * <p>The offset {@code CLOCK_REALTIME - CLOCK_MONOTONIC} is measured with the tightest of several back-to-back
 * {@code clock_gettime} brackets (sub-microsecond on this machine) and re-measured every
 * {@link #DEFAULT_RECALIBRATION_INTERVAL} so that NTP steps and slewing are followed. A span keeps the offset of the
 * moment it is converted: a step between a span's start and its conversion shifts it by the step, as it would in an
 * in-process SDK. Thread-safe.
 */
public final class KernelClock {
  /** How often the offset is re-measured. */
  public static final Duration DEFAULT_RECALIBRATION_INTERVAL = Duration.ofSeconds(60);

  private static final Logger log = LoggerFactory.getLogger(KernelClock.class);
  private static final int SAMPLES = 9;
  private static final long LOG_STEP_NANOS = 1_000_000L;

  private final Clocks clocks;
  private final long intervalNanos;
  private final ReentrantLock calibrating = new ReentrantLock();
  private volatile long offsetNanos;
  private volatile long calibratedAtNanoTime;

  private KernelClock(Clocks clocks, long offsetNanos, long intervalNanos) {
    this.clocks = clocks;
    this.offsetNanos = offsetNanos;
    this.intervalNanos = intervalNanos;
    this.calibratedAtNanoTime = System.nanoTime();
  }

  /** A clock reading the kernel clocks through libc, recalibrated every 60 s. */
  public static KernelClock system() {
    return system(DEFAULT_RECALIBRATION_INTERVAL);
  }

  /** A clock reading the kernel clocks through libc, recalibrated every {@code recalibrationInterval}. */
  public static KernelClock system(Duration recalibrationInterval) {
    requireNonNull(recalibrationInterval, "recalibrationInterval");
    if (recalibrationInterval.isNegative() || recalibrationInterval.isZero()) {
      throw new IllegalArgumentException("recalibrationInterval must be positive: " + recalibrationInterval);
    }
    Clocks clocks = Clocks.create();
    Clocks.Offset offset = clocks.realtimeMinusMonotonic(SAMPLES);
    log.debug("kernel clock calibrated offsetNanos={} uncertaintyNanos={}", offset.nanos(),
        offset.uncertaintyNanos());
    return new KernelClock(clocks, offset.nanos(), recalibrationInterval.toNanos());
  }

  /** A clock with a fixed offset that never recalibrates, for tests and replays. */
  public static KernelClock fixedOffset(long realtimeMinusMonotonicNanos) {
    return new KernelClock(null, realtimeMinusMonotonicNanos, Long.MAX_VALUE);
  }

  /** Converts a {@code bpf_ktime_get_ns} value to epoch nanoseconds. */
  public long toEpochNanos(long ktimeNanos) {
    if (clocks != null && System.nanoTime() - calibratedAtNanoTime > intervalNanos) {
      recalibrate();
    }
    return ktimeNanos + offsetNanos;
  }

  /** The current {@code CLOCK_REALTIME - CLOCK_MONOTONIC} offset in nanoseconds. */
  public long offsetNanos() {
    return offsetNanos;
  }

  /** Re-measures the offset now; a no-op for a fixed-offset clock or while another thread is measuring. */
  public void recalibrate() {
    if (clocks == null || !calibrating.tryLock()) {
      return;
    }
    try {
      Clocks.Offset offset = clocks.realtimeMinusMonotonic(SAMPLES);
      long step = offset.nanos() - offsetNanos;
      if (Math.abs(step) >= LOG_STEP_NANOS) {
        log.info("kernel clock offset changed stepNanos={} uncertaintyNanos={}", step, offset.uncertaintyNanos());
      }
      offsetNanos = offset.nanos();
      calibratedAtNanoTime = System.nanoTime();
    } catch (RuntimeException e) {
      // Keep the previous offset; try again at the next interval.
      calibratedAtNanoTime = System.nanoTime();
      log.warn("kernel clock recalibration failed, keeping offsetNanos={}: {}", offsetNanos, e.toString());
    } finally {
      calibrating.unlock();
    }
  }
}
