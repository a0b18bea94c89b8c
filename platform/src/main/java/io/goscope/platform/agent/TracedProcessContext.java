package io.goscope.platform.agent;

import static java.util.Objects.requireNonNull;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TracedProcess;
import io.opentelemetry.api.common.Attributes;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongFunction;

/** What decoders may ask about a traced process: its rule's probe options and the names of its Go types. */
final class TracedProcessContext implements TracedProcess {
  private final int pid;
  private final Map<String, String> options;
  private final LongFunction<Optional<String>> typeNames;

  TracedProcessContext(int pid, Map<String, String> options, LongFunction<Optional<String>> typeNames) {
    this.pid = pid;
    this.options = Map.copyOf(options);
    this.typeNames = requireNonNull(typeNames, "typeNames");
  }

  @Override
  public int pid() {
    return pid;
  }

  @Override
  public String option(String key, String defaultValue) {
    return options.getOrDefault(key, defaultValue);
  }

  @Override
  public Optional<String> goTypeName(long typeAddress) {
    if (typeAddress == 0 || typeAddress == 1) {
      return Optional.empty();
    }
    try {
      return typeNames.apply(typeAddress);
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** {@code sink} with this process as its {@link TelemetrySink#process()}. */
  TelemetrySink wrap(TelemetrySink sink) {
    requireNonNull(sink, "sink");
    TracedProcess self = this;
    return new TelemetrySink() {
      @Override
      public void span(ProbeSpan span) {
        sink.span(span);
      }

      @Override
      public void histogram(HistogramInstrument instrument, double value, Attributes attributes) {
        sink.histogram(instrument, value, attributes);
      }

      @Override
      public TracedProcess process() {
        return self;
      }
    };
  }
}
