package io.goscope.plugins.databasesql;

import io.goscope.api.Nullable;
import java.util.Map;

/**
 * Which database a database/sql driver talks to ({@code db.system.name}), from the Go type name of the DB's
 * {@code driver.Connector} (or, for drivers without one, of the {@code driver.Driver} inside database/sql's
 * {@code dsnConnector}). Runtime type names carry the package name, not its path ({@code *pq.Connector}); full paths
 * are accepted too.
 */
final class DriverSystem {
  /** The conventions' value for a SQL database that cannot be told. */
  static final String OTHER_SQL = "other_sql";
  /** Package name of a driver's types → {@code db.system.name}. */
  private static final Map<String, String> BY_PACKAGE = Map.ofEntries(
      Map.entry("pq", "postgresql"),                 // github.com/lib/pq
      Map.entry("stdlib", "postgresql"),             // github.com/jackc/pgx/v4|v5/stdlib
      Map.entry("pgx", "postgresql"),
      Map.entry("mysql", "mysql"),                   // github.com/go-sql-driver/mysql
      Map.entry("sqlite3", "sqlite"),                // github.com/mattn/go-sqlite3
      Map.entry("sqlite", "sqlite"),                 // modernc.org/sqlite, github.com/glebarez/go-sqlite
      Map.entry("driver", "sqlite"),                 // github.com/ncruces/go-sqlite3/driver
      Map.entry("mssql", "microsoft.sql_server"),    // github.com/microsoft/go-mssqldb
      Map.entry("godror", "oracle.db"),
      Map.entry("go_ora", "oracle.db"),
      Map.entry("clickhouse", "clickhouse"),
      Map.entry("gosnowflake", "snowflake"));

  private DriverSystem() {}

  /**
   * {@code db.system.name} for the connector's type name and, when it is database/sql's dsnConnector, the driver's;
   * {@value #OTHER_SQL} when neither tells.
   */
  static String of(@Nullable String connectorType, @Nullable String driverType) {
    String pkg = packageOf(connectorType);
    if (pkg == null || "sql".equals(pkg)) { // database/sql's dsnConnector: the driver inside tells
      pkg = packageOf(driverType);
    }
    String system = pkg == null ? null : BY_PACKAGE.get(pkg);
    return system != null ? system : OTHER_SQL;
  }

  /** {@code *github.com/lib/pq.Connector} → {@code pq}; {@code sql.dsnConnector} → {@code sql}. */
  @Nullable
  static String packageOf(@Nullable String typeName) {
    if (typeName == null || typeName.isEmpty()) {
      return null;
    }
    String t = strip(typeName);
    int dot = t.lastIndexOf('.');
    if (dot <= 0) {
      return null;
    }
    String path = t.substring(0, dot);
    return path.substring(path.lastIndexOf('/') + 1);
  }

  private static String strip(String typeName) {
    String t = typeName;
    while (t.startsWith("*")) {
      t = t.substring(1);
    }
    return t;
  }
}
