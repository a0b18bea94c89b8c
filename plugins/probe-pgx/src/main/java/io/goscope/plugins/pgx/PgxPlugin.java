package io.goscope.plugins.pgx;

import org.pf4j.Plugin;

/** The pf4j plugin that bundles the pgx probe set ({@link PgxProbeSet}). Holds no state. */
public final class PgxPlugin extends Plugin {}
