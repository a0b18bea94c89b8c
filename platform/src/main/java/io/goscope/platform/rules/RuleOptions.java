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
 */
public record RuleOptions(
    @Nullable String serviceName,
    @Nullable Set<String> probes,
    double sampling,
    Map<String, String> resourceAttributes) {

  /** All probes, everything sampled, no overrides. */
  public static final RuleOptions DEFAULT = new RuleOptions(null, null, 1.0, Map.of());

  public RuleOptions {
    probes = probes == null ? null : Set.copyOf(probes);
    if (!(sampling >= 0 && sampling <= 1)) {
      throw new IllegalArgumentException("sampling must be within 0..1: " + sampling);
    }
    resourceAttributes = Map.copyOf(resourceAttributes);
  }

  /** Whether the probe set with this id is enabled. */
  public boolean probeEnabled(String probeSetId) {
    return probes == null || probes.contains(probeSetId);
  }
}
