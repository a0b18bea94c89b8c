package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Describes an explicit-bucket histogram a decoder records into with
 * {@link TelemetrySink#histogram(HistogramInstrument, double, io.opentelemetry.api.common.Attributes)}. Plugins
 * define one constant per instrument; the host aggregates measurements per traced process, instrument and attribute
 * set, and exports cumulative histograms.
 *
 * @param name metric name following the semantic conventions, e.g. {@code http.server.request.duration}
 * @param unit UCUM unit, e.g. {@code s}
 * @param description one sentence; may be empty
 * @param boundaries explicit bucket boundaries, finite and strictly increasing (at most
 *     {@value #MAX_BOUNDARIES}); {@code n} boundaries give {@code n + 1} buckets, each bucket's upper bound inclusive
 * @param scope instrumentation scope name, the same as the plugin's spans carry (e.g. {@code io.goscope.nethttp})
 * @param schemaUrl schema URL of the semantic conventions the metric follows, carried by its scope; empty for none
 */
@Unstable
public record HistogramInstrument(
    String name, String unit, String description, List<Double> boundaries, String scope, String schemaUrl) {
  /** Bound on the number of boundaries, so one instrument cannot make every series huge. */
  public static final int MAX_BOUNDARIES = 128;

  /**
   * Validates and copies the arguments.
   *
   * @throws IllegalArgumentException for an empty name, or boundaries that are not finite and strictly increasing
   */
  public HistogramInstrument {
    requireNonNull(name, "name");
    requireNonNull(unit, "unit");
    requireNonNull(description, "description");
    requireNonNull(scope, "scope");
    requireNonNull(schemaUrl, "schemaUrl");
    boundaries = List.copyOf(requireNonNull(boundaries, "boundaries"));
    if (name.isEmpty()) {
      throw new IllegalArgumentException("histogram instrument name is empty");
    }
    if (boundaries.size() > MAX_BOUNDARIES) {
      throw new IllegalArgumentException("histogram " + name + ": " + boundaries.size()
          + " boundaries, at most " + MAX_BOUNDARIES);
    }
    double previous = Double.NEGATIVE_INFINITY;
    for (double b : boundaries) {
      if (!Double.isFinite(b) || b <= previous) {
        throw new IllegalArgumentException("histogram " + name
            + ": boundaries must be finite and strictly increasing: " + boundaries);
      }
      previous = b;
    }
  }

  /** An instrument whose scope names no schema URL. */
  public HistogramInstrument(String name, String unit, String description, List<Double> boundaries, String scope) {
    this(name, unit, description, boundaries, scope, "");
  }
}
