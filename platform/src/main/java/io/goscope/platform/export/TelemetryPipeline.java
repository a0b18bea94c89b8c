package io.goscope.platform.export;

import static java.util.Objects.requireNonNull;

import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.IdGenerator;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.data.StatusData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's span pipeline: probe decoders emit {@link ProbeSpan}s into a {@link TelemetrySink} bound to the traced
 * process's {@link Resource}; a bounded queue hands them to one worker thread, which converts kernel timestamps to
 * epoch time, fills in missing ids, batches and calls every configured {@link SpanExporter} (fan-out).
 *
 * <p>The producer side never blocks and never throws: when the queue is full, or after shutdown, a span is dropped
 * and counted in {@link #droppedSpans()}. The worker is woken only when a full batch is queued or the schedule
 * delay has passed, never per span. Export results are awaited up to the exporter timeout; a span counts as
 * {@linkplain #exportedSpans() exported} when every exporter succeeded and as {@linkplain #failedSpans() failed}
 * otherwise. Exporter failures are logged on state changes only, never per batch.
 */
public final class TelemetryPipeline implements AutoCloseable {
  public static final int DEFAULT_MAX_QUEUE_SIZE = 8192;
  public static final int DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;
  public static final Duration DEFAULT_SCHEDULE_DELAY = Duration.ofMillis(200);
  public static final Duration DEFAULT_EXPORTER_TIMEOUT = Duration.ofSeconds(30);

  private static final Logger log = LoggerFactory.getLogger(TelemetryPipeline.class);
  private static final int MAX_SCOPES = 1024;
  private static final AtomicInteger THREAD_COUNT = new AtomicInteger();

  private final List<SpanExporter> exporters;
  private final int maxQueueSize;
  private final int maxExportBatchSize;
  private final long scheduleDelayNanos;
  private final long exporterTimeoutNanos;
  private final KernelClock clock;
  private final IdGenerator idGenerator;

  private final ConcurrentLinkedQueue<Entry> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicBoolean workerWaiting = new AtomicBoolean();
  private final ConcurrentLinkedQueue<CompletableResultCode> flushRequests = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean shutdownStarted = new AtomicBoolean();
  private final CompletableResultCode shutdownResult = new CompletableResultCode();
  private volatile boolean shutdownRequested;

  private final LongAdder dropped = new LongAdder();
  private final AtomicLong exported = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final Map<String, InstrumentationScopeInfo> scopes = new HashMap<>();
  private final ExportFanOut fanOut;

  private final Thread worker;

  private TelemetryPipeline(Builder b) {
    this.exporters = List.copyOf(b.exporters);
    this.maxQueueSize = b.maxQueueSize;
    this.maxExportBatchSize = b.maxExportBatchSize;
    this.scheduleDelayNanos = b.scheduleDelay.toNanos();
    this.exporterTimeoutNanos = b.exporterTimeout.toNanos();
    this.fanOut = new ExportFanOut("span", b.exporterTimeout);
    this.clock = b.clock != null ? b.clock : KernelClock.system();
    this.idGenerator = b.idGenerator;
    this.worker = new Thread(this::run, "goscope-export-" + THREAD_COUNT.incrementAndGet());
    this.worker.setDaemon(true);
    this.worker.start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A sink whose spans carry {@code resource}: one per traced process. Cheap; may be called per process. */
  public TelemetrySink sinkFor(Resource resource) {
    requireNonNull(resource, "resource");
    return span -> {
      if (span == null) {
        dropped.increment();
        return;
      }
      enqueue(new Entry(span, resource));
    };
  }

  private void enqueue(Entry entry) {
    if (shutdownRequested) {
      dropped.increment();
      return;
    }
    int size = queued.incrementAndGet();
    if (size > maxQueueSize) {
      queued.decrementAndGet();
      dropped.increment();
      return;
    }
    queue.offer(entry);
    if (size >= maxExportBatchSize && workerWaiting.compareAndSet(true, false)) {
      LockSupport.unpark(worker);
    }
  }

  /** Spans dropped because the queue was full or the pipeline was shut down. */
  public long droppedSpans() {
    return dropped.sum();
  }

  /** Spans every exporter accepted. */
  public long exportedSpans() {
    return exported.get();
  }

  /** Spans at least one exporter rejected, threw on, or did not finish within the exporter timeout. */
  public long failedSpans() {
    return failed.get();
  }

  /** Spans waiting in the queue. */
  public int queuedSpans() {
    return queued.get();
  }

  /** Exports everything queued so far; the result completes when those exports have finished. */
  public CompletableResultCode forceFlush() {
    if (shutdownRequested) {
      return shutdownResult;
    }
    CompletableResultCode result = new CompletableResultCode();
    flushRequests.offer(result);
    LockSupport.unpark(worker);
    return result;
  }

  /**
   * Stops accepting spans, exports what is queued, then shuts the exporters down. Idempotent: every call returns
   * the same result.
   */
  public CompletableResultCode shutdown() {
    if (shutdownStarted.compareAndSet(false, true)) {
      shutdownRequested = true;
      LockSupport.unpark(worker);
    }
    return shutdownResult;
  }

  /** Shuts down and waits up to the exporter timeout. */
  @Override
  public void close() {
    shutdown().join(exporterTimeoutNanos, TimeUnit.NANOSECONDS);
  }

  private void run() {
    List<Entry> batch = new ArrayList<>(maxExportBatchSize);
    long nextExport = System.nanoTime() + scheduleDelayNanos;
    try {
      while (true) {
        // Spans stay in the queue (and in `queued`) until the moment they are exported, so the producer's
        // full-batch wake-up and the check before parking both see every pending span. Holding a partial batch
        // while parked once hid spans from that count and left a full batch waiting for the schedule delay.
        if (queued.get() >= maxExportBatchSize) {
          // `queued` is raised just before the offer, so a span may be counted but not yet in the queue; wait
          // out that window rather than export a short batch.
          while (drainInto(batch) < maxExportBatchSize) {
            Thread.onSpinWait();
          }
          exportBatch(batch);
          continue;
        }
        if (shutdownRequested) {
          break;
        }
        CompletableResultCode flush = flushRequests.poll();
        if (flush != null) {
          if (flushAll(batch)) {
            flush.succeed();
          } else {
            flush.fail();
          }
          nextExport = System.nanoTime() + scheduleDelayNanos;
          continue;
        }
        long now = System.nanoTime();
        if (now - nextExport >= 0) {
          drainInto(batch);
          exportBatch(batch);
          nextExport = now + scheduleDelayNanos;
          continue;
        }
        workerWaiting.set(true);
        if (queued.get() < maxExportBatchSize && flushRequests.isEmpty() && !shutdownRequested) {
          LockSupport.parkNanos(this, nextExport - now);
        }
        workerWaiting.set(false);
        Thread.interrupted(); // an interrupt must not turn parking into spinning
      }
      flushAll(batch);
    } catch (RuntimeException | Error e) {
      log.error("export worker stopped unexpectedly thread={}", Thread.currentThread().getName(), e);
    } finally {
      finishShutdown();
    }
  }

  /** Moves queued spans into the batch until it is full or the queue is empty; returns the batch size. */
  private int drainInto(List<Entry> batch) {
    while (batch.size() < maxExportBatchSize) {
      Entry e = queue.poll();
      if (e == null) {
        break;
      }
      queued.decrementAndGet();
      batch.add(e);
    }
    return batch.size();
  }

  private boolean flushAll(List<Entry> batch) {
    boolean ok = true;
    do {
      drainInto(batch);
      ok &= exportBatch(batch);
    } while (!queue.isEmpty());
    return ok;
  }

  private void finishShutdown() {
    shutdownRequested = true;
    CompletableResultCode pending;
    while ((pending = flushRequests.poll()) != null) {
      pending.succeed();
    }
    boolean ok = ExportFanOut.callAll(exporters, SpanExporter::shutdown, Duration.ofNanos(exporterTimeoutNanos),
        "shut down span exporter");
    // Spans that raced with shutdown past the shutdownRequested check are dropped, not lost silently.
    Entry late;
    while ((late = queue.poll()) != null) {
      queued.decrementAndGet();
      dropped.increment();
    }
    log.debug("export pipeline shut down exported={} failed={} dropped={}", exported.get(), failed.get(),
        dropped.sum());
    if (ok) {
      shutdownResult.succeed();
    } else {
      shutdownResult.fail();
    }
  }

  private boolean exportBatch(List<Entry> batch) {
    if (batch.isEmpty()) {
      return true;
    }
    int n = batch.size();
    List<SpanData> spans = new ArrayList<>(n);
    for (Entry e : batch) {
      spans.add(toSpanData(e.span, e.resource));
    }
    batch.clear();
    if (exporters.isEmpty()) {
      exported.addAndGet(n);
      return true;
    }
    boolean ok = fanOut.export(exporters, e -> e.export(spans),
        () -> "batchSize=" + n + " exported=" + exported.get() + " failed=" + failed.get());
    if (ok) {
      exported.addAndGet(n);
    } else {
      failed.addAndGet(n);
    }
    return ok;
  }

  private SpanData toSpanData(ProbeSpan span, Resource resource) {
    String traceId = span.traceId();
    String parentId = span.parentSpanId();
    if (!TraceId.isValid(traceId) || traceId.equals(TraceId.getInvalid())) {
      traceId = idGenerator.generateTraceId();
      parentId = SpanId.getInvalid(); // a parent in an unknown trace cannot be linked
    }
    String spanId = span.spanId();
    if (!SpanId.isValid(spanId) || spanId.equals(SpanId.getInvalid())) {
      spanId = idGenerator.generateSpanId();
    }
    TraceState traceState = traceState(span.traceState());
    SpanContext context = SpanContext.create(traceId, spanId, TraceFlags.getSampled(), traceState);
    boolean hasParent = SpanId.isValid(parentId) && !parentId.equals(SpanId.getInvalid());
    SpanContext parent = !hasParent ? SpanContext.getInvalid()
        : span.parentRemote()
            ? SpanContext.createFromRemoteParent(traceId, parentId, TraceFlags.getSampled(), traceState)
            : SpanContext.create(traceId, parentId, TraceFlags.getSampled(), traceState);
    StatusData status = span.status() == StatusCode.ERROR
        ? StatusData.create(StatusCode.ERROR, span.statusDescription())
        : span.status() == StatusCode.OK ? StatusData.ok() : StatusData.unset();
    return new ProbeSpanData(
        span.name(),
        span.kind(),
        context,
        parent,
        status,
        clock.toEpochNanos(span.startKtimeNanos()),
        clock.toEpochNanos(span.endKtimeNanos()),
        span.attributes(),
        scope(span.scope(), span.schemaUrl()),
        resource);
  }

  /**
   * A W3C tracestate header value as the API's TraceState: list members in order; members the API rejects (bad keys
   * or values) are left out, as the W3C specification allows a receiver to do.
   */
  static TraceState traceState(String header) {
    if (header == null || header.isBlank()) {
      return TraceState.getDefault();
    }
    io.opentelemetry.api.trace.TraceStateBuilder b = TraceState.builder();
    String[] members = header.split(",");
    // The builder puts each new key first: add in reverse to keep the header's order.
    for (int i = Math.min(members.length, 32) - 1; i >= 0; i--) {
      String m = members[i].strip();
      int eq = m.indexOf('=');
      if (eq > 0) {
        b.put(m.substring(0, eq), m.substring(eq + 1));
      }
    }
    return b.build();
  }

  private InstrumentationScopeInfo scope(String name, String schemaUrl) {
    String key = schemaUrl.isEmpty() ? name : name + " " + schemaUrl;
    InstrumentationScopeInfo info = scopes.get(key);
    if (info == null) {
      info = scopeInfo(name, schemaUrl);
      if (scopes.size() < MAX_SCOPES) {
        scopes.put(key, info);
      }
    }
    return info;
  }

  /** The scope {@code name}, with {@code schemaUrl} when it is not empty. */
  static InstrumentationScopeInfo scopeInfo(String name, String schemaUrl) {
    return schemaUrl.isEmpty() ? InstrumentationScopeInfo.create(name)
        : InstrumentationScopeInfo.builder(name).setSchemaUrl(schemaUrl).build();
  }

  private record Entry(ProbeSpan span, Resource resource) {}

  /** Builder for {@link TelemetryPipeline}. */
  public static final class Builder {
    private final List<SpanExporter> exporters = new ArrayList<>();
    private int maxQueueSize = DEFAULT_MAX_QUEUE_SIZE;
    private int maxExportBatchSize = DEFAULT_MAX_EXPORT_BATCH_SIZE;
    private Duration scheduleDelay = DEFAULT_SCHEDULE_DELAY;
    private Duration exporterTimeout = DEFAULT_EXPORTER_TIMEOUT;
    private KernelClock clock;
    private IdGenerator idGenerator = IdGenerator.random();

    private Builder() {}

    /** Adds an exporter; every batch goes to every exporter. No exporter means spans are counted and discarded. */
    public Builder addExporter(SpanExporter exporter) {
      exporters.add(requireNonNull(exporter, "exporter"));
      return this;
    }

    public Builder exporters(List<SpanExporter> exporters) {
      requireNonNull(exporters, "exporters").forEach(this::addExporter);
      return this;
    }

    public Builder maxQueueSize(int maxQueueSize) {
      if (maxQueueSize < 1) {
        throw new IllegalArgumentException("maxQueueSize must be >= 1: " + maxQueueSize);
      }
      this.maxQueueSize = maxQueueSize;
      return this;
    }

    public Builder maxExportBatchSize(int maxExportBatchSize) {
      if (maxExportBatchSize < 1) {
        throw new IllegalArgumentException("maxExportBatchSize must be >= 1: " + maxExportBatchSize);
      }
      this.maxExportBatchSize = maxExportBatchSize;
      return this;
    }

    public Builder scheduleDelay(Duration scheduleDelay) {
      this.scheduleDelay = positive(scheduleDelay, "scheduleDelay");
      return this;
    }

    public Builder exporterTimeout(Duration exporterTimeout) {
      this.exporterTimeout = positive(exporterTimeout, "exporterTimeout");
      return this;
    }

    /** The clock converting kernel timestamps; default {@link KernelClock#system()}. */
    public Builder clock(KernelClock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Generates ids for spans whose probe supplied none; default random. */
    public Builder idGenerator(IdGenerator idGenerator) {
      this.idGenerator = requireNonNull(idGenerator, "idGenerator");
      return this;
    }

    /** Builds the pipeline and starts its worker thread. */
    public TelemetryPipeline build() {
      if (maxExportBatchSize > maxQueueSize) {
        maxExportBatchSize = maxQueueSize;
      }
      return new TelemetryPipeline(this);
    }

    private static Duration positive(Duration d, String name) {
      requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive: " + d);
      }
      return d;
    }
  }
}
