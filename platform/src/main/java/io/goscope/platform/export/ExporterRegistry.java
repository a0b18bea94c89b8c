package io.goscope.platform.export;

import static java.util.Objects.requireNonNull;

import io.goscope.api.GoscopeException;
import io.goscope.api.TelemetryExporter;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses span exporters by the names in {@code otel.traces.exporter} ({@code OTEL_TRACES_EXPORTER}; a comma list,
 * default {@code otlp}; {@code none} alone disables export) and metric exporters by the names in
 * {@code otel.metrics.exporter} ({@code OTEL_METRICS_EXPORTER}, same rules) among the {@link TelemetryExporter}
 * extensions the plugins provide, like the SDK's autoconfigure does for {@code ConfigurableSpanExporterProvider}s
 * and {@code ConfigurableMetricExporterProvider}s.
 */
public final class ExporterRegistry {
  public static final String TRACES_EXPORTER_PROPERTY = "otel.traces.exporter";
  public static final String METRICS_EXPORTER_PROPERTY = "otel.metrics.exporter";
  public static final String DEFAULT_EXPORTER = "otlp";
  public static final String NONE = "none";

  private static final Logger log = LoggerFactory.getLogger(ExporterRegistry.class);

  private final Map<String, TelemetryExporter> byName = new TreeMap<>();

  /** @param extensions the available exporters; for a duplicated name the first one wins (logged) */
  public ExporterRegistry(List<? extends TelemetryExporter> extensions) {
    requireNonNull(extensions, "extensions");
    for (TelemetryExporter e : extensions) {
      String name = requireNonNull(e.name(), "exporter name of " + e.getClass().getName());
      TelemetryExporter previous = byName.putIfAbsent(name, e);
      if (previous != null) {
        log.warn("duplicate span exporter name={} kept={} ignored={}", name, previous.getClass().getName(),
            e.getClass().getName());
      }
    }
  }

  /** Names of the available exporters, sorted. */
  public Set<String> names() {
    return byName.keySet();
  }

  /** The exporter names configured in {@code otel.traces.exporter}, default {@code [otlp]}. */
  public static List<String> configuredNames(ConfigProperties config) {
    return configuredNames(config, TRACES_EXPORTER_PROPERTY);
  }

  private static List<String> configuredNames(ConfigProperties config, String property) {
    requireNonNull(config, "config");
    List<String> names = config.getList(property, List.of(DEFAULT_EXPORTER));
    Set<String> unique = new LinkedHashSet<>();
    for (String n : names) {
      if (!n.isBlank()) {
        unique.add(n.trim());
      }
    }
    return List.copyOf(unique.isEmpty() ? Set.of(DEFAULT_EXPORTER) : unique);
  }

  /**
   * Creates the configured exporters, in configuration order; empty for {@code none}.
   *
   * @throws GoscopeException naming the unknown exporter and the available ones, for {@code none} combined with
   *     other names, or when an exporter fails to initialise
   */
  public List<SpanExporter> create(ConfigProperties config) {
    List<String> names = validNames(config, TRACES_EXPORTER_PROPERTY, "span");
    List<SpanExporter> exporters = new ArrayList<>(names.size());
    for (String name : names) {
      try {
        SpanExporter exporter = byName.get(name).createSpanExporter(config);
        exporters.add(requireNonNull(exporter, "span exporter created by " + name));
        log.info("span exporter configured name={} exporter={}", name, exporter);
      } catch (RuntimeException e) {
        exporters.forEach(SpanExporter::shutdown);
        throw new GoscopeException("create span exporter '" + name + "': " + e.getMessage(), e);
      }
    }
    return List.copyOf(exporters);
  }

  /**
   * Creates the metric exporters configured in {@code otel.metrics.exporter}, in configuration order; empty for
   * {@code none}. A configured exporter without metric support ({@link TelemetryExporter#createMetricExporter}
   * returns null) is skipped with a warning.
   *
   * @throws GoscopeException as {@link #create(ConfigProperties)} does
   */
  public List<MetricExporter> createMetricExporters(ConfigProperties config) {
    List<String> names = validNames(config, METRICS_EXPORTER_PROPERTY, "metric");
    List<MetricExporter> exporters = new ArrayList<>(names.size());
    for (String name : names) {
      try {
        MetricExporter exporter = byName.get(name).createMetricExporter(config);
        if (exporter == null) {
          log.warn("exporter has no metric support, ignored name={} property={}", name, METRICS_EXPORTER_PROPERTY);
          continue;
        }
        exporters.add(exporter);
        log.info("metric exporter configured name={} exporter={}", name, exporter);
      } catch (RuntimeException e) {
        exporters.forEach(MetricExporter::shutdown);
        throw new GoscopeException("create metric exporter '" + name + "': " + e.getMessage(), e);
      }
    }
    return List.copyOf(exporters);
  }

  /** The configured names, checked: empty for {@code none}; every other name must be known. */
  private List<String> validNames(ConfigProperties config, String property, String signal) {
    List<String> names = configuredNames(config, property);
    if (names.contains(NONE)) {
      if (names.size() > 1) {
        throw new GoscopeException("configure " + signal + " exporters " + property + "=" + names
            + ": '" + NONE + "' cannot be combined with other exporters");
      }
      return List.of();
    }
    for (String name : names) {
      if (!byName.containsKey(name)) {
        throw new GoscopeException("configure " + signal + " exporters " + property + "=" + names
            + ": unknown exporter '" + name + "'; available: " + String.join(", ", byName.keySet())
            + (byName.isEmpty() ? "(none: are the exporter plugins installed?)" : "") + ", " + NONE);
      }
    }
    return names;
  }
}
