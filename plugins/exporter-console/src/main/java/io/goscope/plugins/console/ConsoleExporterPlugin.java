package io.goscope.plugins.console;

import org.pf4j.Plugin;

/** The {@code exporter-console} plugin: contributes {@link ConsoleTelemetryExporter} ({@code console}). */
public final class ConsoleExporterPlugin extends Plugin {}
