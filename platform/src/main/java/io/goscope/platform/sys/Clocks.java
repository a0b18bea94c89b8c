package io.goscope.platform.sys;

import io.goscope.api.GoscopeException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Reads the kernel clocks {@code CLOCK_MONOTONIC} (the clock behind {@code bpf_ktime_get_ns}) and
 * {@code CLOCK_REALTIME} through libc {@code clock_gettime}. Java cannot read {@code CLOCK_MONOTONIC} itself:
 * {@link System#nanoTime()} has an arbitrary origin.
 *
 * <p>Not thread-safe: each instance owns one native {@code struct timespec}; use one instance per thread.
 */
public final class Clocks {
  private static final int CLOCK_REALTIME = 0;
  private static final int CLOCK_MONOTONIC = 1;
  private static final int TIMESPEC_SIZE = 16;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  /** The libc function we call; public only because jnr-ffi generates an implementation. */
  public interface LibC {
    int clock_gettime(int clockId, Pointer timespec);
  }

  private static volatile LibC libc;

  private final Pointer timespec;

  private Clocks() {
    this.timespec = Memory.allocateDirect(Runtime.getRuntime(libc()), TIMESPEC_SIZE);
  }

  /** Creates a reader; fails with {@link GoscopeException} when libc cannot be loaded. */
  public static Clocks create() {
    return new Clocks();
  }

  private static LibC libc() {
    LibC l = libc;
    if (l == null) {
      synchronized (Clocks.class) {
        l = libc;
        if (l == null) {
          try {
            l = LibraryLoader.create(LibC.class).load("c");
          } catch (RuntimeException | LinkageError e) {
            throw new GoscopeException("load libc for clock_gettime: " + e.getMessage(), e);
          }
          libc = l;
        }
      }
    }
    return l;
  }

  /** {@code CLOCK_MONOTONIC} in nanoseconds, the time base of {@code bpf_ktime_get_ns}. */
  public long monotonicNanos() {
    return read(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
  }

  /** {@code CLOCK_REALTIME} in nanoseconds since the Unix epoch. */
  public long realtimeNanos() {
    return read(CLOCK_REALTIME, "CLOCK_REALTIME");
  }

  /**
   * Measures {@code CLOCK_REALTIME - CLOCK_MONOTONIC}: reads monotonic, realtime, monotonic back to back
   * {@code samples} times and keeps the tightest bracket, pairing the realtime reading with the bracket's midpoint.
   *
   * @return the offset in nanoseconds and the bracket width (the uncertainty) of the chosen sample
   */
  public Offset realtimeMinusMonotonic(int samples) {
    if (samples < 1) {
      throw new IllegalArgumentException("samples must be >= 1: " + samples);
    }
    long bestWidth = Long.MAX_VALUE;
    long bestOffset = 0;
    for (int i = 0; i < samples; i++) {
      long before = monotonicNanos();
      long real = realtimeNanos();
      long after = monotonicNanos();
      long width = after - before;
      if (width < bestWidth) {
        bestWidth = width;
        bestOffset = real - (before + width / 2);
      }
    }
    return new Offset(bestOffset, bestWidth);
  }

  private long read(int clockId, String clockName) {
    int rc = libc().clock_gettime(clockId, timespec);
    if (rc != 0) {
      throw new GoscopeException(
          "clock_gettime " + clockName + ": errno=" + Runtime.getRuntime(libc()).getLastError());
    }
    return timespec.getLong(0) * NANOS_PER_SECOND + timespec.getLong(8);
  }

  /**
   * A measured clock offset.
   *
   * @param nanos realtime minus monotonic, in nanoseconds
   * @param uncertaintyNanos width of the monotonic bracket around the realtime reading
   */
  public record Offset(long nanos, long uncertaintyNanos) {}
}
