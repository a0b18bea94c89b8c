package io.goscope.platform.export;

import static java.util.Objects.requireNonNull;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.common.Clock;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableHistogramData;
import io.opentelemetry.sdk.metrics.internal.data.ImmutableMetricData;
import io.opentelemetry.sdk.resources.Resource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's metric pipeline: decoders record histogram measurements through the {@link TelemetrySink} of a traced
 * process ({@link #sinkFor(Resource, TelemetrySink)}); they are aggregated in place, per (process resource,
 * instrument, attributes), into cumulative explicit-bucket histograms. Every export interval
 * ({@code otel.metric.export.interval}, default {@value #DEFAULT_EXPORT_INTERVAL_MILLIS} ms) one thread builds
 * {@link MetricData} with the process's resource and the instrument's scope and calls every {@link MetricExporter}.
 *
 * <p>Recording never blocks and never throws: a map lookup and a few atomic updates; no queue. The number of series
 * is bounded ({@link Builder#maxSeries(int)}); a measurement that would open a series beyond the bound is dropped
 * and counted in {@link #droppedMeasurements()}, as are NaN, infinite and negative values and measurements after
 * shutdown. A process whose telemetry is {@linkplain #retire(Resource) retired} (detached) is exported one last time,
 * then its series are freed.
 *
 * <p>Points are always cumulative (start time = the series' first measurement), whatever temporality an exporter
 * prefers; OTLP backends accept both, and a cumulative series survives a lost export.
 */
public final class MetricPipeline implements AutoCloseable {
  public static final String EXPORT_INTERVAL_PROPERTY = "otel.metric.export.interval";
  public static final String EXPORT_TIMEOUT_PROPERTY = "otel.metric.export.timeout";
  public static final long DEFAULT_EXPORT_INTERVAL_MILLIS = 60_000;
  public static final Duration DEFAULT_EXPORT_INTERVAL = Duration.ofMillis(DEFAULT_EXPORT_INTERVAL_MILLIS);
  public static final Duration DEFAULT_EXPORT_TIMEOUT = Duration.ofSeconds(30);
  /** Default bound on series over all processes and instruments. */
  public static final int DEFAULT_MAX_SERIES = 10_000;

  private static final Logger log = LoggerFactory.getLogger(MetricPipeline.class);
  private static final AtomicInteger THREAD_COUNT = new AtomicInteger();

  private final List<MetricExporter> exporters;
  private final long exportIntervalNanos;
  private final long exportTimeoutNanos;
  private final int maxSeries;
  private final Clock clock;
  private final ScheduledExecutorService collector;

  private final Map<Resource, ProcessSeries> processes = new ConcurrentHashMap<>();
  private final Map<String, InstrumentationScopeInfo> scopes = new ConcurrentHashMap<>();
  private final AtomicInteger seriesCount = new AtomicInteger();
  private final LongAdder droppedSeriesLimit = new LongAdder();
  private final LongAdder droppedInvalid = new LongAdder();
  private final LongAdder droppedShutdown = new LongAdder();
  private final List<Supplier<? extends Collection<MetricData>>> producers;
  private final AtomicLong exportedPoints = new AtomicLong();
  private final AtomicLong failedExports = new AtomicLong();
  private final AtomicLong successfulExports = new AtomicLong();
  private final Map<String, LongAdder> failedByReason = new ConcurrentHashMap<>();
  private final AtomicBoolean seriesLimitLogged = new AtomicBoolean();
  private final AtomicBoolean shutdownStarted = new AtomicBoolean();
  private final CompletableResultCode shutdownResult = new CompletableResultCode();
  private volatile boolean shutdown;
  private final ExportFanOut fanOut; // collector thread only

  private MetricPipeline(Builder b) {
    this.exporters = List.copyOf(b.exporters);
    this.producers = List.copyOf(b.producers);
    this.exportIntervalNanos = b.exportInterval.toNanos();
    this.exportTimeoutNanos = b.exportTimeout.toNanos();
    this.fanOut = new ExportFanOut("metric", b.exportTimeout);
    this.maxSeries = b.maxSeries;
    this.clock = b.clock;
    this.collector = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "goscope-metrics-" + THREAD_COUNT.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    if (!exporters.isEmpty()) {
      collector.scheduleAtFixedRate(this::collectAndExportQuietly, exportIntervalNanos, exportIntervalNanos,
          TimeUnit.NANOSECONDS);
      for (MetricExporter e : exporters) {
        if (e.getAggregationTemporality(InstrumentType.HISTOGRAM) != AggregationTemporality.CUMULATIVE) {
          log.info("metric exporter prefers delta temporality; goscope exports cumulative histograms exporter={}",
              e);
        }
      }
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * A sink for one traced process: histogram measurements are aggregated here under {@code resource}, spans go on
   * to {@code spans}. With no metric exporter configured, {@code spans} itself (nothing is aggregated). Cheap; a
   * second call for an equal resource shares the series and revives a retired process.
   */
  public TelemetrySink sinkFor(Resource resource, TelemetrySink spans) {
    requireNonNull(resource, "resource");
    requireNonNull(spans, "spans");
    if (exporters.isEmpty()) {
      return spans;
    }
    ProcessSeries series = processes.compute(resource, (r, existing) -> {
      if (existing == null) {
        return new ProcessSeries(r);
      }
      existing.retired = false;
      return existing;
    });
    return new RecordingSink(series, spans);
  }

  /**
   * Marks a process's series for removal (the process was detached): they are exported once more at the next
   * collection, then freed. Measurements recorded until then still count.
   */
  public void retire(Resource resource) {
    ProcessSeries s = processes.get(requireNonNull(resource, "resource"));
    if (s != null) {
      s.retired = true;
    }
  }

  /**
   * Measurements not aggregated: beyond the series bound, NaN/infinite/negative values, or after shutdown.
   */
  public long droppedMeasurements() {
    return droppedSeriesLimit.sum() + droppedInvalid.sum() + droppedShutdown.sum();
  }

  /**
   * Dropped measurements by reason: {@code series_limit}, {@code invalid} (NaN, infinite, negative, null),
   * {@code shutdown} (after shutdown or for a process already freed). Every reason is present.
   */
  public Map<String, Long> droppedMeasurementsByReason() {
    Map<String, Long> m = new java.util.TreeMap<>();
    m.put("series_limit", droppedSeriesLimit.sum());
    m.put("invalid", droppedInvalid.sum());
    m.put("shutdown", droppedShutdown.sum());
    return m;
  }

  /** Series currently held, over all processes. */
  public int seriesCount() {
    return seriesCount.get();
  }

  /** Histogram points every exporter accepted, summed over exports. */
  public long exportedPoints() {
    return exportedPoints.get();
  }

  /** Exports at least one exporter rejected, threw on, or did not finish within the export timeout. */
  public long failedExports() {
    return failedExports.get();
  }

  /** Exports every exporter accepted. */
  public long successfulExports() {
    return successfulExports.get();
  }

  /** Failed exports by reason (as for spans: {@code http_503}, {@code timeout}, ...). */
  public Map<String, Long> failedExportsByReason() {
    return TelemetryPipeline.sums(failedByReason);
  }

  /** Empty while the collector thread runs (or was shut down on purpose); else why not. */
  public java.util.Optional<String> workerProblem() {
    if (collector.isShutdown() && !shutdownStarted.get()) {
      return java.util.Optional.of("metric collector stopped");
    }
    return java.util.Optional.empty();
  }

  /** Collects and exports now, on the collector thread; the result completes when the export has finished. */
  public CompletableResultCode forceFlush() {
    CompletableResultCode result = new CompletableResultCode();
    try {
      collector.execute(() -> {
        if (collectAndExport()) {
          result.succeed();
        } else {
          result.fail();
        }
      });
    } catch (RejectedExecutionException e) {
      return shutdownResult;
    }
    return result;
  }

  /**
   * Stops recording, exports one final collection and shuts the exporters down. Idempotent: every call returns the
   * same result.
   */
  public CompletableResultCode shutdown() {
    if (!shutdownStarted.compareAndSet(false, true)) {
      return shutdownResult;
    }
    shutdown = true;
    try {
      collector.execute(this::finishShutdown);
    } catch (RejectedExecutionException e) {
      shutdownResult.fail();
    }
    collector.shutdown();
    return shutdownResult;
  }

  /** Shuts down and waits up to the export timeout. */
  @Override
  public void close() {
    shutdown().join(exportTimeoutNanos, TimeUnit.NANOSECONDS);
  }

  private void finishShutdown() {
    boolean ok = exporters.isEmpty() || collectAndExport();
    ok &= ExportFanOut.callAll(exporters, MetricExporter::shutdown, Duration.ofNanos(exportTimeoutNanos),
        "shut down metric exporter");
    log.debug("metric pipeline shut down series={} exportedPoints={} failedExports={} dropped={}",
        seriesCount.get(), exportedPoints.get(), failedExports.get(), droppedMeasurements());
    if (ok) {
      shutdownResult.succeed();
    } else {
      shutdownResult.fail();
    }
  }

  private void collectAndExportQuietly() {
    try {
      collectAndExport();
    } catch (RuntimeException e) {
      log.warn("metric collection failed reason={}", e.toString());
    }
  }

  /** Builds the current cumulative points and exports them; frees retired processes. Collector thread only. */
  private boolean collectAndExport() {
    List<MetricData> metrics = collect();
    if (exporters.isEmpty()) {
      return true;
    }
    long points = 0; // the traced processes' histogram points; self-metrics are not counted here
    for (MetricData m : metrics) {
      points += m.getHistogramData().getPoints().size();
    }
    for (Supplier<? extends Collection<MetricData>> p : producers) {
      try {
        metrics.addAll(p.get());
      } catch (RuntimeException e) {
        log.debug("metric producer failed reason={}", e.toString());
      }
    }
    if (metrics.isEmpty()) {
      return true;
    }
    long n = points;
    String failure = fanOut.export(exporters, e -> e.export(metrics),
        () -> "points=" + n + " exportedPoints=" + exportedPoints.get() + " failedExports=" + failedExports.get());
    boolean ok = failure == null;
    if (ok) {
      successfulExports.incrementAndGet();
    } else {
      failedByReason.computeIfAbsent(failure, k -> new LongAdder()).increment();
    }
    if (ok) {
      exportedPoints.addAndGet(points);
    } else {
      failedExports.incrementAndGet();
    }
    return ok;
  }

  /** One {@link MetricData} per (process, instrument) with a point per attribute set. */
  List<MetricData> collect() {
    long now = clock.now();
    List<MetricData> out = new ArrayList<>();
    for (ProcessSeries process : processes.values()) {
      boolean retired = process.retired;
      Map<HistogramInstrument, List<HistogramPointData>> byInstrument = new LinkedHashMap<>();
      process.cells.forEach((key, cell) ->
          byInstrument.computeIfAbsent(key.instrument(), i -> new ArrayList<>()).add(cell.snapshot(now)));
      byInstrument.forEach((instrument, points) -> out.add(ImmutableMetricData.createDoubleHistogram(
          process.resource, scope(instrument), instrument.name(), instrument.description(),
          instrument.unit(), ImmutableHistogramData.create(AggregationTemporality.CUMULATIVE, points))));
      if (retired) {
        // Atomic with sinkFor's revival: a process re-registered since the flag was read stays.
        processes.computeIfPresent(process.resource, (r, p) -> {
          if (p == process && p.retired) {
            p.removed = true;
            return null;
          }
          return p;
        });
        if (process.removed) {
          // Each cell is removed exactly once, here or by a racing openSeries, and uncounted by whoever removed it.
          for (SeriesKey key : process.cells.keySet()) {
            if (process.cells.remove(key) != null) {
              seriesCount.decrementAndGet();
            }
          }
        }
      }
    }
    return out;
  }

  private InstrumentationScopeInfo scope(HistogramInstrument instrument) {
    String key = instrument.schemaUrl().isEmpty() ? instrument.scope()
        : instrument.scope() + " " + instrument.schemaUrl();
    return scopes.computeIfAbsent(key, k -> TelemetryPipeline.scopeInfo(instrument.scope(), instrument.schemaUrl()));
  }

  private void record(ProcessSeries process, HistogramInstrument instrument, double value, Attributes attributes) {
    if (shutdown || process.removed) {
      droppedShutdown.increment();
      return;
    }
    if (instrument == null || attributes == null || !(value >= 0) || value == Double.POSITIVE_INFINITY) {
      droppedInvalid.increment();
      return;
    }
    SeriesKey key = new SeriesKey(instrument, attributes);
    HistogramCell cell = process.cells.get(key);
    if (cell == null) {
      cell = openSeries(process, key);
      if (cell == null) {
        droppedSeriesLimit.increment();
        return;
      }
    }
    cell.record(value);
  }

  private HistogramCell openSeries(ProcessSeries process, SeriesKey key) {
    if (seriesCount.incrementAndGet() > maxSeries) {
      seriesCount.decrementAndGet();
      if (seriesLimitLogged.compareAndSet(false, true)) {
        log.warn("metric series limit reached; new series are dropped and counted maxSeries={} instrument={} "
            + "attributes={}", maxSeries, key.instrument().name(), key.attributes());
      }
      return null;
    }
    HistogramCell fresh = new HistogramCell(key.instrument().boundaries(), key.attributes(), clock.now());
    HistogramCell raced = process.cells.putIfAbsent(key, fresh);
    if (raced != null) {
      seriesCount.decrementAndGet();
      return raced;
    }
    if (process.removed && process.cells.remove(key, fresh)) {
      seriesCount.decrementAndGet(); // raced with the removal: nobody exports this series any more
      return null;
    }
    return fresh;
  }

  private record SeriesKey(HistogramInstrument instrument, Attributes attributes) {}

  /** The series of one traced process. */
  private static final class ProcessSeries {
    final Resource resource;
    final Map<SeriesKey, HistogramCell> cells = new ConcurrentHashMap<>();
    volatile boolean retired;
    volatile boolean removed;

    ProcessSeries(Resource resource) {
      this.resource = resource;
    }
  }

  /** Spans to the span pipeline, histograms into this pipeline. */
  private final class RecordingSink implements TelemetrySink {
    private final ProcessSeries process;
    private final TelemetrySink spans;

    RecordingSink(ProcessSeries process, TelemetrySink spans) {
      this.process = process;
      this.spans = spans;
    }

    @Override
    public void span(ProbeSpan span) {
      spans.span(span);
    }

    @Override
    public void histogram(HistogramInstrument instrument, double value, Attributes attributes) {
      record(process, instrument, value, attributes);
    }
  }

  /** Builder for {@link MetricPipeline}. */
  public static final class Builder {
    private final List<MetricExporter> exporters = new ArrayList<>();
    private Duration exportInterval = DEFAULT_EXPORT_INTERVAL;
    private Duration exportTimeout = DEFAULT_EXPORT_TIMEOUT;
    private int maxSeries = DEFAULT_MAX_SERIES;
    private final List<Supplier<? extends Collection<MetricData>>> producers = new ArrayList<>();
    private Clock clock = Clock.getDefault();

    private Builder() {}

    /** Adds an exporter; every collection goes to every exporter. No exporter means nothing is aggregated. */
    public Builder addExporter(MetricExporter exporter) {
      exporters.add(requireNonNull(exporter, "exporter"));
      return this;
    }

    public Builder exporters(List<MetricExporter> exporters) {
      requireNonNull(exporters, "exporters").forEach(this::addExporter);
      return this;
    }

    /**
     * Reads {@code otel.metric.export.interval} ({@code OTEL_METRIC_EXPORT_INTERVAL}, milliseconds or a duration
     * with unit) and {@code otel.metric.export.timeout}, as the SDK's periodic reader does.
     */
    public Builder config(ConfigProperties config) {
      requireNonNull(config, "config");
      exportInterval(config.getDuration(EXPORT_INTERVAL_PROPERTY, DEFAULT_EXPORT_INTERVAL));
      exportTimeout(config.getDuration(EXPORT_TIMEOUT_PROPERTY, DEFAULT_EXPORT_TIMEOUT));
      return this;
    }

    public Builder exportInterval(Duration exportInterval) {
      this.exportInterval = positive(exportInterval, "exportInterval");
      return this;
    }

    public Builder exportTimeout(Duration exportTimeout) {
      this.exportTimeout = positive(exportTimeout, "exportTimeout");
      return this;
    }

    /**
     * Adds metrics made elsewhere (the agent's self-metrics) to every export; exported only when the pipeline has
     * exporters. Called on the collector thread.
     */
    public Builder addProducer(Supplier<? extends Collection<MetricData>> producer) {
      producers.add(requireNonNull(producer, "producer"));
      return this;
    }

    /** Bound on series over all processes and instruments; default {@value #DEFAULT_MAX_SERIES}. */
    public Builder maxSeries(int maxSeries) {
      if (maxSeries < 1) {
        throw new IllegalArgumentException("maxSeries must be >= 1: " + maxSeries);
      }
      this.maxSeries = maxSeries;
      return this;
    }

    /** Epoch clock for point timestamps; default the SDK's. */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Builds the pipeline and, when it has exporters, schedules its periodic collection. */
    public MetricPipeline build() {
      return new MetricPipeline(this);
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
