package io.goscope.api.testing;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TracedProcess;
import io.opentelemetry.api.common.Attributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A sink that keeps what it gets, for a process with the given rule options and Go type names (decoder tests). */
public final class RecordingSink implements TelemetrySink {
  /** One histogram measurement the decoder recorded. */
  public record Measurement(HistogramInstrument instrument, double value, Attributes attributes) {}

  public final List<ProbeSpan> spans = new ArrayList<>();
  public final List<Measurement> measurements = new ArrayList<>();
  private final TracedProcess process;

  /**
   * @param options the rule options the process is traced with
   * @param typeNames Go type names by type address, for {@link TracedProcess#goTypeName}
   */
  public RecordingSink(Map<String, String> options, Map<Long, String> typeNames) {
    this.process = new TracedProcess() {
      @Override
      public int pid() {
        return 42;
      }

      @Override
      public String option(String key, String defaultValue) {
        return options.getOrDefault(key, defaultValue);
      }

      @Override
      public Optional<String> goTypeName(long typeAddress) {
        return Optional.ofNullable(typeNames.get(typeAddress));
      }
    };
  }

  @Override
  public void span(ProbeSpan span) {
    spans.add(span);
  }

  @Override
  public void histogram(HistogramInstrument instrument, double value, Attributes attributes) {
    measurements.add(new Measurement(instrument, value, attributes));
  }

  @Override
  public TracedProcess process() {
    return process;
  }
}
