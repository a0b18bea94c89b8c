package io.goscope.plugins.databasesql;

/**
 * Byte layout of {@code struct dbsql_event} in {@code src/main/bpf/databasesql_event.h} (see its table). The single
 * Java copy; {@code DatabaseSqlEventLayoutTest} checks it against the C header with the host C compiler.
 */
final class DatabaseSqlEventLayout {
  static final int TYPE = 1;
  static final int START_NS = 8;
  static final int END_NS = 16;
  static final int TRACE = 24;
  static final int CONNECTOR_TYPE = 64;
  static final int DRIVER_TYPE = 72;
  static final int ERROR_TYPE = 80;
  static final int QUERY_LEN = 88;
  static final int OP = 96;
  static final int QUERY = 104;
  static final int QUERY_CAP = 1024;
  static final int SIZE = 1128;

  /** {@code DBSQL_OP_*}. */
  static final int OP_QUERY = 1;
  static final int OP_EXEC = 2;
  static final int OP_PREPARE = 3;
  static final int OP_STMT_QUERY = 4;
  static final int OP_STMT_EXEC = 5;
  static final int OP_BEGIN = 6;
  static final int OP_COMMIT = 7;
  static final int OP_ROLLBACK = 8;

  private DatabaseSqlEventLayout() {}
}
