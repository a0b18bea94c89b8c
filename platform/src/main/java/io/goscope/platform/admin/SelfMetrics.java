package io.goscope.platform.admin;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * The agent's own metrics, by name. Components do not hold counters here: they register a supplier that reads the
 * counter they already keep (a {@code LongAdder}, a kernel map, a queue's size), so a counter stays where it is
 * counted and this registry only names it. Registering a series again (same name, same labels) re-points it to the
 * new supplier, e.g. when the ring-buffer drop counter moves from per-object maps to one shared map.
 *
 * <p>Names follow Prometheus conventions ({@code goscope_} prefix, base unit in the name); counters are registered
 * without the {@code _total} suffix, which the exposition adds. {@link #collect()} reads every supplier; the admin
 * server's {@code /metrics} and the OTLP export of self-metrics both render what it returns.
 */
public final class SelfMetrics {
  /** Processes with probes attached now. */
  public static final String PROCESSES_INSTRUMENTED = "goscope_processes_instrumented";
  /** Uprobes attached now, by probe set. */
  public static final String PROBES_ATTACHED = "goscope_probes_attached";
  /** Probes (or whole probe sets) of instrumented processes that did not attach, by probe set and reason. */
  public static final String PROBES_SKIPPED = "goscope_probes_skipped";
  /** Processes attached again after a restart (same service identity, new pid). */
  public static final String REATTACHMENTS = "goscope_reattachments";
  /** Processes selected by the rules that could not be instrumented. */
  public static final String ATTACH_FAILURES = "goscope_attach_failures";
  /** Decoded records, by probe set. */
  public static final String RECORDS = "goscope_records";
  /** Records the kernel could not reserve in the ring buffer (full): lost before the agent saw them. */
  public static final String RINGBUF_RESERVE_FAILURES = "goscope_ringbuf_reserve_failures";
  /** Records read from the ring buffer. */
  public static final String RINGBUF_RECORDS_READ = "goscope_ringbuf_records_read";
  /** Records lost on the host side, by reason: malformed, unknown_process (already gone), unknown_source. */
  public static final String RECORDS_LOST = "goscope_records_lost";
  /**
   * Returns of probed calls that found no call in flight, by probe set: calls already running when the process was
   * selected, or in-flight entries evicted because more calls were in flight at once than the probe set's map holds
   * (rising in steady state: spans lost).
   */
  public static final String CALLS_UNMATCHED = "goscope_calls_unmatched";
  /** Spans dropped before export, by reason: queue_full, shutdown. */
  public static final String SPANS_DROPPED = "goscope_spans_dropped";
  /** Spans not kept by sampling (not a loss). */
  public static final String SPANS_SAMPLED_OUT = "goscope_spans_sampled_out";
  /** Spans every exporter accepted. */
  public static final String SPANS_EXPORTED = "goscope_spans_exported";
  /** Spans in batches that failed after the exporter's retries, by reason. */
  public static final String SPANS_EXPORT_FAILED = "goscope_spans_export_failed";
  /** Export calls by signal and outcome ({@code success} or a failure reason). */
  public static final String EXPORTS = "goscope_exports";
  /** Spans waiting in the export queue. */
  public static final String SPAN_QUEUE_SIZE = "goscope_span_queue_size";
  /** Capacity of the span export queue. */
  public static final String SPAN_QUEUE_CAPACITY = "goscope_span_queue_capacity";
  /** Histogram measurements dropped, by reason: series_limit, invalid, shutdown. */
  public static final String MEASUREMENTS_DROPPED = "goscope_measurements_dropped";
  /** Histogram points every metric exporter accepted. */
  public static final String METRIC_POINTS_EXPORTED = "goscope_metric_points_exported";
  /** Metric series held now. */
  public static final String METRIC_SERIES = "goscope_metric_series";
  /** From the exec event of a process to its last uprobe attached. */
  public static final String EXEC_TO_ATTACHED_SECONDS = "goscope_exec_to_attached_seconds";
  /** Binary analysis per attach (cached analyses included). */
  public static final String ANALYSIS_SECONDS = "goscope_analysis_seconds";
  /** Always 1, with the agent's version and runtime as labels. */
  public static final String BUILD_INFO = "goscope_build_info";
  /** Gauge: BPF objects loaded (one per probe set and offset set, shared by the processes that need it). */
  public static final String BPF_OBJECTS_LOADED = "goscope_bpf_objects_loaded";
  /** Gauge: binaries attached for all their processes. */
  public static final String BINARIES_ATTACHED = "goscope_binaries_attached";
  /** Counter: selected processes whose binary was attached already (traced with no uprobe placed). */
  public static final String ATTACHES_AVOIDED = "goscope_attaches_avoided";
  /** Counter family {event}: the socket programs of socket-level propagation. */
  public static final String PROPAGATION_SOCKET = "goscope_propagation_socket_events";

  /** Buckets for latencies from sub-millisecond to tens of seconds. */
  public static final List<Double> LATENCY_BUCKETS = List.of(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
      0.5, 1.0, 2.5, 5.0, 10.0, 30.0);

  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  /** What a family is. */
  public enum Type { COUNTER, GAUGE, HISTOGRAM, INFO }

  /** One sample of a counter, gauge or info family. */
  public record Sample(Map<String, String> labels, double value) {
    public Sample {
      labels = Collections.unmodifiableMap(new TreeMap<>(labels));
    }
  }

  /** One family as collected: its samples, or for a histogram its series' snapshots. */
  public record Family(String name, String help, Type type, List<Sample> samples,
      List<HistogramSnapshot> histograms) {}

  /** A labelled set of series computed at collection time, e.g. one per probe set. */
  @FunctionalInterface
  public interface SeriesSupplier {
    /** Label values (in the family's label order) to value. */
    Map<List<String>, ? extends Number> values();
  }

  private final Map<String, Def> families = new TreeMap<>();

  /** Registers (or re-points) an unlabelled counter. */
  public void counter(String name, String help, LongSupplier value) {
    counter(name, help, Map.of(), value);
  }

  /** Registers (or re-points) one labelled series of a counter. */
  public void counter(String name, String help, Map<String, String> labels, LongSupplier value) {
    requireNonNull(value, "value");
    series(name, help, Type.COUNTER, labels, value::getAsLong);
  }

  /** Registers (or re-points) an unlabelled gauge. */
  public void gauge(String name, String help, DoubleSupplier value) {
    gauge(name, help, Map.of(), value);
  }

  public void gauge(String name, String help, Map<String, String> labels, DoubleSupplier value) {
    requireNonNull(value, "value");
    series(name, help, Type.GAUGE, labels, value::getAsDouble);
  }

  /** Registers (or replaces) a counter whose label sets are known only at collection time. */
  public void counterFamily(String name, String help, List<String> labelNames, SeriesSupplier values) {
    dynamic(name, help, Type.COUNTER, labelNames, values);
  }

  /** Registers (or replaces) a gauge whose label sets are known only at collection time. */
  public void gaugeFamily(String name, String help, List<String> labelNames, SeriesSupplier values) {
    dynamic(name, help, Type.GAUGE, labelNames, values);
  }

  /** An info metric: value 1, the facts as labels ({@code goscope_build_info}). */
  public synchronized void info(String name, String help, Map<String, String> labels) {
    checkLabels(labels.keySet());
    Def d = def(name, help, Type.INFO);
    d.series.put(new TreeMap<>(labels), () -> 1);
  }

  /**
   * Registers a histogram owned by this registry and returns it for recording; a second call with the same name
   * returns the same histogram.
   */
  public synchronized SelfHistogram histogram(String name, String help, List<Double> bounds) {
    Def d = def(name, help, Type.HISTOGRAM);
    if (d.histogram == null) {
      d.histogram = new SelfHistogram(bounds);
    }
    return d.histogram;
  }

  /** Removes a family; for tests and for components that go away. */
  public synchronized void remove(String name) {
    families.remove(name);
  }

  /** Names registered, sorted. */
  public synchronized List<String> names() {
    return List.copyOf(families.keySet());
  }

  /**
   * Reads every supplier. A supplier that throws contributes no sample (its family stays, empty) rather than
   * failing the scrape.
   */
  public List<Family> collect() {
    List<Def> defs;
    synchronized (this) {
      defs = new ArrayList<>(families.size());
      for (Def d : families.values()) {
        defs.add(d.copy());
      }
    }
    List<Family> out = new ArrayList<>(defs.size());
    for (Def d : defs) {
      List<Sample> samples = new ArrayList<>();
      List<HistogramSnapshot> histograms = new ArrayList<>();
      d.series.forEach((labels, supplier) -> {
        try {
          samples.add(new Sample(labels, supplier.get().doubleValue()));
        } catch (RuntimeException e) {
          // unreadable now (e.g. a kernel map closed meanwhile): no sample this time
        }
      });
      if (d.dynamic != null) {
        try {
          d.dynamic.values().forEach((values, v) -> {
            Map<String, String> labels = new LinkedHashMap<>();
            for (int i = 0; i < d.labelNames.size(); i++) {
              labels.put(d.labelNames.get(i), i < values.size() ? values.get(i) : "");
            }
            samples.add(new Sample(labels, v.doubleValue()));
          });
        } catch (RuntimeException e) {
          // as above
        }
      }
      if (d.histogram != null) {
        histograms.add(d.histogram.snapshot());
      }
      out.add(new Family(d.name, d.help, d.type, List.copyOf(samples), List.copyOf(histograms)));
    }
    return out;
  }

  private synchronized void series(String name, String help, Type type, Map<String, String> labels,
      Supplier<Number> value) {
    checkLabels(labels.keySet());
    Def d = def(name, help, type);
    d.series.put(new TreeMap<>(labels), value);
  }

  private synchronized void dynamic(String name, String help, Type type, List<String> labelNames,
      SeriesSupplier values) {
    requireNonNull(values, "values");
    checkLabels(labelNames);
    Def d = def(name, help, type);
    d.labelNames = List.copyOf(labelNames);
    d.dynamic = values;
  }

  private Def def(String name, String help, Type type) {
    requireNonNull(name, "name");
    requireNonNull(help, "help");
    if (!NAME.matcher(name).matches() || name.endsWith("_total") && type == Type.COUNTER) {
      throw new IllegalArgumentException("bad metric name " + name + " (counters are named without _total)");
    }
    Def d = families.computeIfAbsent(name, n -> new Def(n, help, type));
    if (d.type != type) {
      throw new IllegalArgumentException("metric " + name + " is a " + d.type + ", not a " + type);
    }
    return d;
  }

  private static void checkLabels(Iterable<String> names) {
    for (String n : names) {
      if (!LABEL.matcher(n).matches() || n.startsWith("__") || n.equals("le") || n.equals("quantile")) {
        throw new IllegalArgumentException("bad label name " + n);
      }
    }
  }

  private static final class Def {
    final String name;
    final String help;
    final Type type;
    final Map<Map<String, String>, Supplier<Number>> series = new LinkedHashMap<>();
    List<String> labelNames = List.of();
    SeriesSupplier dynamic;
    SelfHistogram histogram;

    Def(String name, String help, Type type) {
      this.name = name;
      this.help = help;
      this.type = type;
    }

    Def copy() {
      Def c = new Def(name, help, type);
      c.series.putAll(series);
      c.labelNames = labelNames;
      c.dynamic = dynamic;
      c.histogram = histogram;
      return c;
    }
  }
}
