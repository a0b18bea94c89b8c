package io.goscope.plugins.console;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * Prints each finished trace as an indented tree (see {@link TraceTree}), followed by an empty line:
 *
 * <pre>
 * trace 4bf92f3577b34da6a3ce929d0e0e4736  2 services, 3 spans, 12.4 ms
 * └─ front  SERVER  GET /checkout/1                          12.4 ms  200
 *    └─ front  CLIENT  GET http://127.0.0.1:8081/inventory/1  3.12 ms  200
 *       └─ back  SERVER  GET /inventory/1                     2.20 ms  200
 * </pre>
 *
 * Spans are held per trace in a bounded {@link TraceBuffer} and a trace is printed once its root has ended and no
 * span of it arrived for the quiet period (or after longer waits, see {@link TraceBuffer}), on {@link #flush()}, and
 * at {@link #shutdown()}. A thread of its own checks every {@value #TICK_MILLIS} ms, so a trace is printed even when
 * no more spans come. Spans the buffer cannot hold are counted; the count is printed when it grows (at most every
 * {@value #DROP_REPORT_SECONDS} s) and at shutdown.
 */
public final class ConsoleTraceExporter implements SpanExporter {
  static final long TICK_MILLIS = 100;
  static final long DROP_REPORT_SECONDS = 10;

  private final PrintStream out;
  private final TraceTree.Glyphs glyphs;
  private final TraceBuffer buffer;
  private final Duration quietPeriod;
  private final LongSupplier clock;
  private final ScheduledExecutorService ticker;
  private final AtomicBoolean shutdown = new AtomicBoolean();
  private final Object printLock = new Object();
  private long reportedDrops;
  private long lastDropReport = Long.MIN_VALUE;

  private ConsoleTraceExporter(Builder b) {
    this.out = b.out;
    this.glyphs = b.glyphs != null ? b.glyphs : glyphsFor(stdoutCharset());
    this.buffer = new TraceBuffer(b.maxTraces, b.maxSpans, b.quietPeriod, b.rootlessWait, b.maxHold);
    this.quietPeriod = b.quietPeriod;
    this.clock = b.clock;
    if (b.tick) {
      this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "goscope-console-traces");
        t.setDaemon(true);
        return t;
      });
      ticker.scheduleWithFixedDelay(this::printReadyQuietly, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
    } else {
      this.ticker = null;
    }
  }

  /** A builder printing to {@code out}. */
  public static Builder builder(PrintStream out) {
    return new Builder(out);
  }

  @Override
  public CompletableResultCode export(Collection<SpanData> spans) {
    if (shutdown.get()) {
      return CompletableResultCode.ofFailure();
    }
    long now = clock.getAsLong();
    for (SpanData s : spans) {
      buffer.add(TraceSpan.of(s), now); // a span the buffer cannot hold is counted there
    }
    return CompletableResultCode.ofSuccess();
  }

  /** Prints the traces that are ready now. */
  void printReady() {
    synchronized (printLock) {
      long now = clock.getAsLong();
      print(buffer.takeReady(now));
      reportDrops(now, false);
    }
  }

  private void printReadyQuietly() {
    try {
      printReady();
    } catch (RuntimeException e) {
      // keep the ticker alive: a failed print must not stop later traces from printing
    }
  }

  private void print(List<TraceBuffer.Trace> traces) {
    if (traces.isEmpty()) {
      return;
    }
    StringBuilder sb = new StringBuilder(1024);
    for (TraceBuffer.Trace t : traces) {
      for (String line : TraceTree.build(t.traceId(), t.spans(), t.droppedSpans()).render(glyphs)) {
        sb.append(line).append(System.lineSeparator());
      }
      sb.append(System.lineSeparator());
    }
    out.print(sb);
    out.flush();
  }

  private void reportDrops(long now, boolean force) {
    long dropped = buffer.droppedSpans();
    if (dropped == reportedDrops) {
      return;
    }
    if (!force && lastDropReport != Long.MIN_VALUE
        && now - lastDropReport < TimeUnit.SECONDS.toNanos(DROP_REPORT_SECONDS)) {
      return;
    }
    out.println("console: " + dropped + " spans dropped so far: the trace buffer was full (at most "
        + buffer.maxTraces() + " traces and " + buffer.maxSpans() + " spans held)");
    out.flush();
    reportedDrops = dropped;
    lastDropReport = now;
  }

  /** Spans dropped because the trace buffer was full. */
  public long droppedSpans() {
    return buffer.droppedSpans();
  }

  /** Prints every held trace, finished or not. */
  @Override
  public CompletableResultCode flush() {
    synchronized (printLock) {
      print(buffer.takeAll());
      reportDrops(clock.getAsLong(), true);
    }
    out.flush();
    return CompletableResultCode.ofSuccess();
  }

  /** Prints every held trace and stops; idempotent. */
  @Override
  public CompletableResultCode shutdown() {
    if (shutdown.compareAndSet(false, true)) {
      if (ticker != null) {
        ticker.shutdownNow();
      }
      flush();
    }
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public String toString() {
    return "ConsoleTraceExporter{quietPeriod=" + quietPeriod + ", maxTraces=" + buffer.maxTraces() + ", maxSpans="
        + buffer.maxSpans() + "}";
  }

  /** Box-drawing characters when {@code charset} can encode them, ASCII otherwise. */
  static TraceTree.Glyphs glyphsFor(Charset charset) {
    return charset.newEncoder().canEncode("├─└│…") ? TraceTree.Glyphs.UNICODE : TraceTree.Glyphs.ASCII;
  }

  /** The charset {@code System.out} encodes with on Java 17 ({@code PrintStream.charset()} came in 18). */
  private static Charset stdoutCharset() {
    String name = System.getProperty("sun.stdout.encoding");
    try {
      return name != null ? Charset.forName(name) : Charset.defaultCharset();
    } catch (IllegalArgumentException e) {
      return Charset.defaultCharset();
    }
  }

  /** Builds a {@link ConsoleTraceExporter}; defaults are {@link TraceBuffer}'s documented constants. */
  public static final class Builder {
    private final PrintStream out;
    private int maxTraces = TraceBuffer.DEFAULT_MAX_TRACES;
    private int maxSpans = TraceBuffer.DEFAULT_MAX_SPANS;
    private Duration quietPeriod = TraceBuffer.DEFAULT_QUIET_PERIOD;
    private Duration rootlessWait = TraceBuffer.DEFAULT_ROOTLESS_WAIT;
    private Duration maxHold = TraceBuffer.DEFAULT_MAX_HOLD;
    private TraceTree.Glyphs glyphs;
    private LongSupplier clock = System::nanoTime;
    private boolean tick = true;

    private Builder(PrintStream out) {
      this.out = requireNonNull(out, "out");
    }

    /** How long a trace with a root waits for more spans before it is printed (default 1 s). */
    public Builder quietPeriod(Duration quietPeriod) {
      this.quietPeriod = requireNonNull(quietPeriod, "quietPeriod");
      return this;
    }

    /** How long a trace without a root waits for more spans before it is printed (default 5 s). */
    public Builder rootlessWait(Duration rootlessWait) {
      this.rootlessWait = requireNonNull(rootlessWait, "rootlessWait");
      return this;
    }

    /** The longest a trace is held, however busy (default 30 s). */
    public Builder maxHold(Duration maxHold) {
      this.maxHold = requireNonNull(maxHold, "maxHold");
      return this;
    }

    /** Most traces held at once (default 512); spans of further traces are dropped and counted. */
    public Builder maxTraces(int maxTraces) {
      this.maxTraces = maxTraces;
      return this;
    }

    /** Most spans held at once, over all traces (default 8192); further spans are dropped and counted. */
    public Builder maxSpans(int maxSpans) {
      this.maxSpans = maxSpans;
      return this;
    }

    /** ASCII tree characters instead of box drawing (chosen by the output's charset unless set). */
    public Builder ascii(boolean ascii) {
      this.glyphs = ascii ? TraceTree.Glyphs.ASCII : TraceTree.Glyphs.UNICODE;
      return this;
    }

    /** For tests: the monotonic nanosecond clock, and whether a thread prints ready traces by itself. */
    Builder clock(LongSupplier clock, boolean tick) {
      this.clock = requireNonNull(clock, "clock");
      this.tick = tick;
      return this;
    }

    public ConsoleTraceExporter build() {
      return new ConsoleTraceExporter(this);
    }
  }
}
