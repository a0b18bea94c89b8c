package io.goscope.platform.discovery.kubernetes;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.util.List;

/**
 * Options of the {@code kubernetes} discovery source, read from the agent's configuration (environment variables or
 * system properties, in OpenTelemetry's {@code ConfigProperties} spelling).
 *
 * <ul>
 *   <li>{@code GOSCOPE_POD_LABELS} ({@code goscope.pod.labels}): pod label keys exported as
 *       {@code k8s.pod.label.<key>}, comma separated, {@code *} for all; default none.
 *   <li>{@code GOSCOPE_POD_ANNOTATIONS} ({@code goscope.pod.annotations}): the same for
 *       {@code k8s.pod.annotation.<key>}; default none.
 *   <li>{@code GOSCOPE_K8S_SERVICE_FROM_LABELS} ({@code goscope.k8s.service.from.labels}): derive
 *       {@code service.name} and {@code service.version} from the well-known labels {@code app.kubernetes.io/instance},
 *       {@code app.kubernetes.io/name} and {@code app.kubernetes.io/version}; default true. (Semantic conventions ask
 *       tools to offer this flag because users may not expect their labels to be used.)
 *   <li>{@code GOSCOPE_K8S_POD_IP} ({@code goscope.k8s.pod.ip}): export the opt-in {@code k8s.pod.ip}; default false.
 * </ul>
 *
 * @param podLabels label keys exported as {@code k8s.pod.label.<key>}
 * @param podAnnotations annotation keys exported as {@code k8s.pod.annotation.<key>}
 * @param serviceFromWellKnownLabels whether well-known {@code app.kubernetes.io/*} labels feed service attributes
 * @param podIp whether {@code k8s.pod.ip} is exported
 */
public record KubernetesMetadataConfig(
    KeySelection podLabels, KeySelection podAnnotations, boolean serviceFromWellKnownLabels, boolean podIp) {

  /** Property for {@link #podLabels()}. */
  public static final String POD_LABELS = "goscope.pod.labels";
  /** Property for {@link #podAnnotations()}. */
  public static final String POD_ANNOTATIONS = "goscope.pod.annotations";
  /** Property for {@link #serviceFromWellKnownLabels()}. */
  public static final String SERVICE_FROM_LABELS = "goscope.k8s.service.from.labels";
  /** Property for {@link #podIp()}. */
  public static final String POD_IP = "goscope.k8s.pod.ip";

  public KubernetesMetadataConfig {
    requireNonNull(podLabels, "podLabels");
    requireNonNull(podAnnotations, "podAnnotations");
  }

  /** No labels or annotations exported, well-known labels used, no pod IP. */
  public static KubernetesMetadataConfig defaults() {
    return new KubernetesMetadataConfig(KeySelection.NONE, KeySelection.NONE, true, false);
  }

  /** Reads the options from the agent's configuration. */
  public static KubernetesMetadataConfig from(ConfigProperties config) {
    requireNonNull(config, "config");
    return new KubernetesMetadataConfig(
        KeySelection.parse(config.getList(POD_LABELS, List.of())),
        KeySelection.parse(config.getList(POD_ANNOTATIONS, List.of())),
        config.getBoolean(SERVICE_FROM_LABELS, true),
        config.getBoolean(POD_IP, false));
  }
}
