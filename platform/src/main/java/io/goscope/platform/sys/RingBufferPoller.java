package io.goscope.platform.sys;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A daemon thread that drains a {@link RingBufferReader} every interval (10 ms is what the reference VM was
 * measured with), so no record wakes anyone. Stops on {@link #close()}, after a last drain.
 */
public final class RingBufferPoller implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RingBufferPoller.class);

  /** The drain interval the platform uses by default. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofMillis(10);

  private final RingBufferReader reader;
  private final RingBufferReader.RecordHandler handler;
  private final long intervalNanos;
  private final Thread thread;
  private volatile boolean running = true;

  private RingBufferPoller(
      RingBufferReader reader, RingBufferReader.RecordHandler handler, Duration interval, String threadName) {
    this.reader = requireNonNull(reader, "reader");
    this.handler = requireNonNull(handler, "handler");
    requireNonNull(interval, "interval");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive: " + interval);
    }
    this.intervalNanos = interval.toNanos();
    this.thread = new Thread(this::run, requireNonNull(threadName, "threadName"));
    this.thread.setDaemon(true);
  }

  /** Starts a poller thread named {@code threadName} draining {@code reader} into {@code handler}. */
  public static RingBufferPoller start(
      RingBufferReader reader, RingBufferReader.RecordHandler handler, Duration interval, String threadName) {
    RingBufferPoller p = new RingBufferPoller(reader, handler, interval, threadName);
    p.thread.start();
    return p;
  }

  private void run() {
    while (running) {
      drainOnce();
      java.util.concurrent.locks.LockSupport.parkNanos(this, intervalNanos);
    }
    drainOnce();
  }

  private void drainOnce() {
    try {
      reader.drain(handler);
    } catch (IllegalStateException e) {
      LOG.debug("ring buffer reader closed, poller stops thread={}", thread.getName());
      running = false;
    } catch (RuntimeException e) {
      LOG.warn("ring buffer drain failed thread={}", thread.getName(), e);
    }
  }

  /** Stops the thread after a final drain and waits for it. Idempotent; does not close the reader. */
  @Override
  public void close() {
    running = false;
    java.util.concurrent.locks.LockSupport.unpark(thread);
    if (Thread.currentThread() != thread) {
      try {
        thread.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
