package io.goscope.platform.rules;

import io.goscope.api.Nullable;
import java.util.Map;
import java.util.Set;

/**
 * What an include rule sets for the processes it selects.
 *
 * @param serviceName {@code service.name} for the process's telemetry, or null to derive one
 * @param probes ids of the probe sets to enable, or null for all
 * @param sampling ratio of traces kept, 0 to 1
 * @param resourceAttributes extra resource attributes
 * @param propagation whether outgoing requests carry W3C trace context that Goscope writes (off by default: it
 *     changes what the application sends)
 * @param probeOptions options for probe sets, by key (e.g. {@code db.query.text: off}); probe sets read them through
 *     {@link io.goscope.api.TracedProcess#option}
 */
public record RuleOptions(
    @Nullable String serviceName,
    @Nullable Set<String> probes,
    double sampling,
    Map<String, String> resourceAttributes,
    boolean propagation,
    Map<String, String> probeOptions) {

  /** All probes, everything sampled, no overrides, no propagation. */
  public static final RuleOptions DEFAULT = new RuleOptions(null, null, 1.0, Map.of(), false, Map.of());

  public RuleOptions {
    probes = probes == null ? null : Set.copyOf(probes);
    if (!(sampling >= 0 && sampling <= 1)) {
      throw new IllegalArgumentException("sampling must be within 0..1: " + sampling);
    }
    resourceAttributes = Map.copyOf(resourceAttributes);
    probeOptions = Map.copyOf(probeOptions);
  }

  /** The options without propagation and probe options (the rule files written before they existed). */
  public RuleOptions(@Nullable String serviceName, @Nullable Set<String> probes, double sampling,
      Map<String, String> resourceAttributes) {
    this(serviceName, probes, sampling, resourceAttributes, false, Map.of());
  }

  /** Whether the probe set with this id is enabled. */
  public boolean probeEnabled(String probeSetId) {
    return probes == null || probes.contains(probeSetId);
  }
}
