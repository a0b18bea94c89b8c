package io.example.goscope.jsonl;

import org.pf4j.Plugin;

/** The plugin: contributes {@link JsonlTelemetryExporter}. */
public final class JsonlExporterPlugin extends Plugin {}
