package io.goscope.plugins.pgx;

/**
 * Byte layouts of the records in {@code src/main/bpf/pgx_event.h} (see its table). The single Java copy;
 * {@code PgxEventLayoutTest} checks it against the C header with the host C compiler.
 */
final class PgxEventLayout {
  static final int TYPE_OP = 1;
  static final int TYPE_BATCH = 2;
  static final int START_NS = 8;
  static final int END_NS = 16;
  static final int TRACE = 24;
  static final int ERROR_TYPE = 64;
  static final int HOST_LEN = 72;
  static final int DATABASE_LEN = 80;
  static final int QUERY_LEN = 88;
  static final int PORT = 96;
  static final int OP = 98;
  static final int HOST = 104;
  static final int HOST_CAP = 64;
  static final int DATABASE = 168;
  static final int DATABASE_CAP = 64;
  static final int QUERY = 232;
  static final int QUERY_CAP = 1024;
  static final int SIZE = 1256;

  static final int BATCH_SIZE = 232;
  static final int BATCH_QUERY_LENS = 240;
  static final int BATCH_QUERIES = 272;
  static final int BATCH_QUERY_COUNT = 4;
  static final int BATCH_QUERY_CAP = 256;
  static final int BATCH_RECORD_SIZE = 1296;

  static final int OP_QUERY = 1;
  static final int OP_EXEC = 2;
  static final int OP_BATCH = 3;

  private PgxEventLayout() {}
}
