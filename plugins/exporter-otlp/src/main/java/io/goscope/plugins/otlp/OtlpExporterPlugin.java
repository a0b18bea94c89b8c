package io.goscope.plugins.otlp;

import org.pf4j.Plugin;

/**
 * The {@code exporter-otlp} plugin: contributes {@link OtlpTelemetryExporter} ({@code otlp}). The OpenTelemetry SDK,
 * the OTLP exporter and its OkHttp sender are provided by the host's class path, not bundled.
 */
public final class OtlpExporterPlugin extends Plugin {}
