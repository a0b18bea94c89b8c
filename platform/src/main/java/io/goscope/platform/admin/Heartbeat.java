package io.goscope.platform.admin;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * A loop's proof of life: the loop calls {@link #beat()} each round; the loop counts as stuck once no beat came
 * for {@code maxSilence}. Before the first beat, the silence counts from creation.
 */
public final class Heartbeat {
  private final String what;
  private final long maxSilenceNanos;
  private final LongSupplier nanoClock;
  private volatile long last;
  private volatile boolean stopped;

  public Heartbeat(String what, Duration maxSilence) {
    this(what, maxSilence, System::nanoTime);
  }

  Heartbeat(String what, Duration maxSilence, LongSupplier nanoClock) {
    this.what = requireNonNull(what, "what");
    this.maxSilenceNanos = maxSilence.toNanos();
    this.nanoClock = nanoClock;
    this.last = nanoClock.getAsLong();
  }

  public void beat() {
    last = nanoClock.getAsLong();
  }

  /** Marks the loop as ended on purpose (shutdown): reported as stopped, not as stuck. */
  public void stop() {
    stopped = true;
  }

  /** Time since the last beat. */
  public Duration silence() {
    return Duration.ofNanos(nanoClock.getAsLong() - last);
  }

  /** Empty while beating, else why not. */
  public Optional<String> problem() {
    if (stopped) {
      return Optional.of(what + " stopped");
    }
    long silent = nanoClock.getAsLong() - last;
    if (silent > maxSilenceNanos) {
      return Optional.of(what + " stuck: no progress for " + silent / 1_000_000 + " ms (limit "
          + maxSilenceNanos / 1_000_000 + " ms)");
    }
    return Optional.empty();
  }
}
