package io.goscope.plugins.databasesql;

import org.pf4j.Plugin;

/** The pf4j plugin that bundles the database/sql probe set ({@link DatabaseSqlProbeSet}). Holds no state. */
public final class DatabaseSqlPlugin extends Plugin {}
