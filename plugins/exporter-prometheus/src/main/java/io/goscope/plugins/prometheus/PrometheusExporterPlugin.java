package io.goscope.plugins.prometheus;

import org.pf4j.Plugin;

/**
 * The {@code exporter-prometheus} plugin: contributes {@link PrometheusTelemetryExporter} ({@code prometheus}), the
 * OpenTelemetry Java Prometheus exporter, bundled in this plugin's jar.
 */
public final class PrometheusExporterPlugin extends Plugin {}
