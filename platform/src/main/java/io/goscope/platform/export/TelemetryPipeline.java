package io.goscope.platform.export;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
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
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
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
 * and counted ({@link #droppedSpansByReason()}). The worker is woken only when a full batch is queued or the
 * schedule delay has passed, never per span. Export results are awaited up to the exporter timeout; a span counts as
 * {@linkplain #exportedSpans() exported} when every exporter succeeded. When the backend is unavailable (a retryable
 * failure, after the exporter's own retries), the batch is held and retried with backoff, up to
 * {@link Builder#retryMaxElapsed(Duration)}, while new spans wait in the queue: an outage loses only what overflows
 * the queue, and that is counted. Other failures (e.g. HTTP 400) count the batch's spans as
 * {@linkplain #failedSpansByReason() failed}, by reason. Exporter failures are logged on state changes only.
 *
 * <p>Configured by the batch span processor variables ({@link Builder#config}): {@code OTEL_BSP_SCHEDULE_DELAY},
 * {@code OTEL_BSP_MAX_QUEUE_SIZE}, {@code OTEL_BSP_MAX_EXPORT_BATCH_SIZE}, {@code OTEL_BSP_EXPORT_TIMEOUT}.
 */
public final class TelemetryPipeline implements AutoCloseable {
  public static final int DEFAULT_MAX_QUEUE_SIZE = 8192;
  public static final int DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;
  public static final Duration DEFAULT_SCHEDULE_DELAY = Duration.ofMillis(200);
  public static final Duration DEFAULT_EXPORTER_TIMEOUT = Duration.ofSeconds(30);
  /**
   * How long a batch is held and retried while the backend stays unavailable before its spans count as failed;
   * the OpenTelemetry Collector's {@code retry_on_failure.max_elapsed_time} default.
   */
  public static final Duration DEFAULT_RETRY_MAX_ELAPSED = Duration.ofMinutes(5);
  /** {@code GOSCOPE_EXPORT_RETRY_MAX_ELAPSED}, see {@link #DEFAULT_RETRY_MAX_ELAPSED}. */
  public static final String RETRY_MAX_ELAPSED_PROPERTY = "goscope.export.retry.max.elapsed";
  /** First wait before a held batch is retried; doubles up to {@link #DEFAULT_MAX_RETRY_BACKOFF}. */
  public static final Duration DEFAULT_INITIAL_RETRY_BACKOFF = Duration.ofSeconds(1);
  public static final Duration DEFAULT_MAX_RETRY_BACKOFF = Duration.ofSeconds(5);

  /** {@code OTEL_BSP_SCHEDULE_DELAY}: the longest a span waits before its batch is exported. */
  public static final String SCHEDULE_DELAY_PROPERTY = "otel.bsp.schedule.delay";
  /** {@code OTEL_BSP_MAX_QUEUE_SIZE}: spans held while waiting for export; beyond it spans are dropped, counted. */
  public static final String MAX_QUEUE_SIZE_PROPERTY = "otel.bsp.max.queue.size";
  /** {@code OTEL_BSP_MAX_EXPORT_BATCH_SIZE}: spans per export call. */
  public static final String MAX_EXPORT_BATCH_SIZE_PROPERTY = "otel.bsp.max.export.batch.size";
  /** {@code OTEL_BSP_EXPORT_TIMEOUT}: how long one export (with the exporter's retries) may take. */
  public static final String EXPORT_TIMEOUT_PROPERTY = "otel.bsp.export.timeout";
  /** Drop reasons, see {@link #droppedSpansByReason()}. */
  public static final String DROP_QUEUE_FULL = "queue_full";
  public static final String DROP_SHUTDOWN = "shutdown";
  public static final String DROP_INVALID = "invalid";
  /** The outcome of a successful export in {@link #exportsByOutcome()}. */
  public static final String OUTCOME_SUCCESS = "success";

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

  private final LongAdder droppedQueueFull = new LongAdder();
  private final LongAdder droppedShutdown = new LongAdder();
  private final LongAdder droppedInvalid = new LongAdder();
  private final AtomicLong exported = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final Map<String, LongAdder> failedByReason = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> exportsByOutcome = new ConcurrentHashMap<>();
  /** System.nanoTime() of the worker's last loop round; a round is at most one export (bounded by the timeout). */
  private volatile long workerProgressNanos = System.nanoTime();
  private final Map<String, InstrumentationScopeInfo> scopes = new HashMap<>();
  private final ExportFanOut fanOut;

  private final Thread worker;
  private final long retryMaxElapsedNanos;
  private final long initialRetryBackoffNanos;
  private final long maxRetryBackoffNanos;
  /** A batch the backend could not take, waiting for a retry; worker thread only. */
  @Nullable private List<SpanData> held;
  private volatile int heldCount;
  private long heldSinceNanos;
  private long retryAtNanos;
  private long retryBackoffNanos;

  private TelemetryPipeline(Builder b) {
    this.exporters = List.copyOf(b.exporters);
    this.maxQueueSize = b.maxQueueSize;
    this.maxExportBatchSize = b.maxExportBatchSize;
    this.scheduleDelayNanos = b.scheduleDelay.toNanos();
    this.exporterTimeoutNanos = b.exporterTimeout.toNanos();
    this.retryMaxElapsedNanos = b.retryMaxElapsed.toNanos();
    this.initialRetryBackoffNanos = b.initialRetryBackoff.toNanos();
    this.maxRetryBackoffNanos = Math.max(b.initialRetryBackoff.toNanos(), b.maxRetryBackoff.toNanos());
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
        droppedInvalid.increment();
        return;
      }
      enqueue(new Entry(span, resource));
    };
  }

  private void enqueue(Entry entry) {
    if (shutdownRequested) {
      droppedShutdown.increment();
      return;
    }
    int size = queued.incrementAndGet();
    if (size > maxQueueSize) {
      queued.decrementAndGet();
      droppedQueueFull.increment();
      return;
    }
    queue.offer(entry);
    if (size >= maxExportBatchSize && workerWaiting.compareAndSet(true, false)) {
      LockSupport.unpark(worker);
    }
  }

  /** Spans dropped because the queue was full or the pipeline was shut down (or null spans). */
  public long droppedSpans() {
    return droppedQueueFull.sum() + droppedShutdown.sum() + droppedInvalid.sum();
  }

  /**
   * Dropped spans by reason: {@code queue_full} (the queue held {@link #maxQueueSize()} spans), {@code shutdown}
   * (offered after shutdown began), {@code invalid} (null). Every reason is present, zero or not.
   */
  public Map<String, Long> droppedSpansByReason() {
    Map<String, Long> m = new TreeMap<>();
    m.put(DROP_QUEUE_FULL, droppedQueueFull.sum());
    m.put(DROP_SHUTDOWN, droppedShutdown.sum());
    m.put(DROP_INVALID, droppedInvalid.sum());
    return m;
  }

  /** Failed spans by the reason their batch failed (e.g. {@code http_400}, {@code timeout}, {@code tls}). */
  public Map<String, Long> failedSpansByReason() {
    return sums(failedByReason);
  }

  /** Export calls (batches) by outcome: {@code success} or the failure reason. */
  public Map<String, Long> exportsByOutcome() {
    return sums(exportsByOutcome);
  }

  /** The queue's capacity ({@code OTEL_BSP_MAX_QUEUE_SIZE}). */
  public int maxQueueSize() {
    return maxQueueSize;
  }

  /**
   * Empty while the export worker is alive and making progress; else why not. A round of the worker waits at most
   * the schedule delay, then exports at most one batch bounded by the exporter timeout.
   */
  public Optional<String> workerProblem() {
    if (!worker.isAlive()) {
      return shutdownResult.isDone() ? Optional.of("span export worker stopped (shut down)")
          : Optional.of("span export worker died");
    }
    long silentNanos = System.nanoTime() - workerProgressNanos;
    long limit = 2 * (scheduleDelayNanos + exporterTimeoutNanos) + TimeUnit.SECONDS.toNanos(10);
    if (silentNanos > limit) {
      return Optional.of("span export worker stuck for " + silentNanos / 1_000_000 + " ms");
    }
    return Optional.empty();
  }

  static Map<String, Long> sums(Map<String, LongAdder> adders) {
    Map<String, Long> m = new TreeMap<>();
    adders.forEach((k, v) -> m.put(k, v.sum()));
    return m;
  }

  /** Spans every exporter accepted. */
  public long exportedSpans() {
    return exported.get();
  }

  /** Spans at least one exporter rejected, threw on, or did not finish within the exporter timeout. */
  public long failedSpans() {
    return failed.get();
  }

  /** Spans waiting for export: in the queue, plus a batch held for retry while the backend is unavailable. */
  public int queuedSpans() {
    return queued.get() + heldCount;
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
        workerProgressNanos = System.nanoTime();
        if (held != null) {
          // The backend is unavailable: nothing else is exported until this batch goes through (or gives up);
          // new spans wait in the queue, and what does not fit is dropped and counted.
          if (shutdownRequested) {
            break;
          }
          long now = System.nanoTime();
          CompletableResultCode flush = flushRequests.poll();
          if (flush != null || now - retryAtNanos >= 0) {
            retryHeld();
            if (flush != null) {
              if (held == null && flushAll(batch)) {
                flush.succeed();
              } else {
                flush.fail();
              }
            }
            continue;
          }
          park(retryAtNanos - now);
          continue;
        }
        if (shutdownRequested) {
          break; // finalFlush exports what is queued, stopping at the first failure
        }
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
        park(nextExport - now);
      }
      finalFlush(batch);
    } catch (RuntimeException | Error e) {
      log.error("export worker stopped unexpectedly thread={}", Thread.currentThread().getName(), e);
    } finally {
      finishShutdown();
    }
  }

  private void park(long nanos) {
    workerWaiting.set(true);
    if (queued.get() < maxExportBatchSize && flushRequests.isEmpty() && !shutdownRequested) {
      LockSupport.parkNanos(this, nanos);
    }
    workerWaiting.set(false);
    Thread.interrupted(); // an interrupt must not turn parking into spinning
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

  /** Exports everything queued; stops at a batch the backend could not take now (then held for retry). */
  private boolean flushAll(List<Entry> batch) {
    boolean ok = true;
    do {
      drainInto(batch);
      ok &= exportBatch(batch);
    } while (!queue.isEmpty() && held == null);
    return ok && held == null;
  }

  /**
   * At shutdown: one more try for a held batch, then everything queued, in batches, until the first failure;
   * spans not exported then are dropped and counted ({@code shutdown}). The caller bounds the wait.
   */
  private void finalFlush(List<Entry> batch) {
    boolean failing = false;
    if (held != null) {
      List<SpanData> spans = held;
      clearHeld();
      String failure = exportSpans(spans);
      if (failure != null) {
        failing = true;
        droppedShutdown.add(spans.size());
      }
    }
    while (true) {
      drainInto(batch);
      if (batch.isEmpty()) {
        break;
      }
      if (failing) {
        droppedShutdown.add(batch.size());
        batch.clear();
        continue;
      }
      List<SpanData> spans = toSpanData(batch);
      String failure = exportSpans(spans);
      if (failure != null) {
        failing = true;
        if (retryable(failure)) {
          droppedShutdown.add(spans.size());
        } else {
          countFailed(failure, spans.size());
        }
      }
    }
  }

  private void finishShutdown() {
    shutdownRequested = true;
    CompletableResultCode pending;
    while ((pending = flushRequests.poll()) != null) {
      pending.succeed();
    }
    if (held != null) { // the worker died with a held batch
      droppedShutdown.add(held.size());
      clearHeld();
    }
    boolean ok = ExportFanOut.callAll(exporters, SpanExporter::shutdown, Duration.ofNanos(exporterTimeoutNanos),
        "shut down span exporter");
    // Spans that raced with shutdown past the shutdownRequested check are dropped, not lost silently.
    Entry late;
    while ((late = queue.poll()) != null) {
      queued.decrementAndGet();
      droppedShutdown.increment();
    }
    log.debug("export pipeline shut down exported={} failed={} dropped={}", exported.get(), failed.get(),
        droppedSpans());
    if (ok) {
      shutdownResult.succeed();
    } else {
      shutdownResult.fail();
    }
  }

  /**
   * Exports a batch (and empties it). A retryable failure (backend unavailable, throttling, timeout) holds the
   * spans for a later retry instead of losing them; any other failure counts them as failed.
   *
   * @return whether the batch was exported
   */
  private boolean exportBatch(List<Entry> batch) {
    if (batch.isEmpty()) {
      return true;
    }
    List<SpanData> spans = toSpanData(batch);
    String failure = exportSpans(spans);
    if (failure == null) {
      return true;
    }
    if (retryable(failure) && shutdownRequested) {
      droppedShutdown.add(spans.size()); // not delivered before the stop; no time left to retry
    } else if (retryable(failure) && retryMaxElapsedNanos > 0) {
      hold(spans);
    } else {
      countFailed(failure, spans.size());
    }
    return false;
  }

  private List<SpanData> toSpanData(List<Entry> batch) {
    List<SpanData> spans = new ArrayList<>(batch.size());
    for (Entry e : batch) {
      spans.add(toSpanData(e.span, e.resource));
    }
    batch.clear();
    return spans;
  }

  /** One export call to every exporter; counts the outcome and, on success, the spans. Null on success. */
  @Nullable
  private String exportSpans(List<SpanData> spans) {
    int n = spans.size();
    if (exporters.isEmpty()) {
      exported.addAndGet(n);
      return null;
    }
    String failure = fanOut.export(exporters, e -> e.export(spans),
        () -> "batchSize=" + n + " exported=" + exported.get() + " failed=" + failed.get()
            + " queued=" + queued.get());
    exportsByOutcome.computeIfAbsent(failure == null ? OUTCOME_SUCCESS : failure, k -> new LongAdder())
        .increment();
    if (failure == null) {
      exported.addAndGet(n);
    }
    return failure;
  }

  private void hold(List<SpanData> spans) {
    long now = System.nanoTime();
    held = spans;
    heldCount = spans.size();
    heldSinceNanos = now;
    retryBackoffNanos = initialRetryBackoffNanos;
    retryAtNanos = now + retryBackoffNanos;
  }

  /** Retries the held batch: exported, given up (not retryable, or held too long: counted as failed) or held on. */
  private void retryHeld() {
    List<SpanData> spans = held;
    String failure = exportSpans(spans);
    if (failure == null) {
      clearHeld();
      return;
    }
    long now = System.nanoTime();
    if (!retryable(failure) || now - heldSinceNanos >= retryMaxElapsedNanos) {
      clearHeld();
      countFailed(failure, spans.size());
      return;
    }
    retryBackoffNanos = Math.min(retryBackoffNanos * 2, maxRetryBackoffNanos);
    retryAtNanos = now + retryBackoffNanos;
  }

  private void clearHeld() {
    held = null;
    heldCount = 0;
  }

  private void countFailed(String reason, int n) {
    failedByReason.computeIfAbsent(reason, k -> new LongAdder()).add(n);
    failed.addAndGet(n);
  }

  /**
   * Whether a failure is transient, as the OTLP specification lists them: no answer (refused, reset, timed out),
   * HTTP 429, 502, 503, 504, and the retryable gRPC codes. The exporter has already retried these with backoff
   * (honouring {@code Retry-After}); the pipeline holds the batch and tries again later.
   */
  public static boolean retryable(String reason) {
    return switch (reason) {
      case "connection_refused", "unknown_host", ExportFailure.TIMEOUT, "io", "http_429", "http_502", "http_503",
          "http_504", "grpc_unavailable", "grpc_cancelled", "grpc_deadline_exceeded", "grpc_aborted",
          "grpc_out_of_range", "grpc_data_loss", "grpc_resource_exhausted" -> true;
      default -> false;
    };
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
    private Duration retryMaxElapsed = DEFAULT_RETRY_MAX_ELAPSED;
    private Duration initialRetryBackoff = DEFAULT_INITIAL_RETRY_BACKOFF;
    private Duration maxRetryBackoff = DEFAULT_MAX_RETRY_BACKOFF;
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

    /**
     * Reads the batch span processor variables as the SDK does: {@code OTEL_BSP_SCHEDULE_DELAY} (milliseconds or a
     * duration with unit), {@code OTEL_BSP_MAX_QUEUE_SIZE}, {@code OTEL_BSP_MAX_EXPORT_BATCH_SIZE} and
     * {@code OTEL_BSP_EXPORT_TIMEOUT}; unset ones keep Goscope's defaults (200 ms, 8192, 512, 30 s).
     */
    public Builder config(ConfigProperties config) {
      requireNonNull(config, "config");
      scheduleDelay(config.getDuration(SCHEDULE_DELAY_PROPERTY, scheduleDelay));
      maxQueueSize(config.getInt(MAX_QUEUE_SIZE_PROPERTY, maxQueueSize));
      maxExportBatchSize(config.getInt(MAX_EXPORT_BATCH_SIZE_PROPERTY, maxExportBatchSize));
      exporterTimeout(config.getDuration(EXPORT_TIMEOUT_PROPERTY, exporterTimeout));
      retryMaxElapsed(config.getDuration(RETRY_MAX_ELAPSED_PROPERTY, retryMaxElapsed));
      return this;
    }

    /**
     * How long a batch the backend could not take (retryable failure) is held and retried before it counts as
     * failed; zero gives up after the exporter's own retries. Default {@link #DEFAULT_RETRY_MAX_ELAPSED}.
     */
    public Builder retryMaxElapsed(Duration retryMaxElapsed) {
      requireNonNull(retryMaxElapsed, "retryMaxElapsed");
      if (retryMaxElapsed.isNegative()) {
        throw new IllegalArgumentException("retryMaxElapsed must not be negative: " + retryMaxElapsed);
      }
      this.retryMaxElapsed = retryMaxElapsed;
      return this;
    }

    /** Waits between retries of a held batch: {@code initial}, doubling up to {@code max}. */
    public Builder retryBackoff(Duration initial, Duration max) {
      this.initialRetryBackoff = positive(initial, "initial");
      this.maxRetryBackoff = positive(max, "max");
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
