package io.goscope.plugins.databasesql;

import static io.goscope.plugins.databasesql.DatabaseSqlEventLayout.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.TraceRecord;
import io.goscope.api.testing.CHeaderLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Keeps {@link DatabaseSqlEventLayout} in sync with {@code struct dbsql_event} (compiled with the host C compiler). */
class DatabaseSqlEventLayoutTest {
  @Test
  void cStructMatchesJavaLayout() throws Exception {
    Map<String, long[]> java = new LinkedHashMap<>();
    java.put("dbsql_event.start_ns", new long[] {START_NS, 8});
    java.put("dbsql_event.end_ns", new long[] {END_NS, 8});
    java.put("dbsql_event.trace", new long[] {TRACE, TraceRecord.SIZE});
    java.put("dbsql_event.connector_type", new long[] {CONNECTOR_TYPE, 8});
    java.put("dbsql_event.driver_type", new long[] {DRIVER_TYPE, 8});
    java.put("dbsql_event.error_type", new long[] {ERROR_TYPE, 8});
    java.put("dbsql_event.query_len", new long[] {QUERY_LEN, 8});
    java.put("dbsql_event.op", new long[] {OP, 1});
    java.put("dbsql_event.query", new long[] {QUERY, QUERY_CAP});
    java.put("dbsql_event.sizeof", new long[] {SIZE, 0});
    Map<String, Integer> constants = new LinkedHashMap<>();
    constants.put("DBSQL_RECORD_OP", TYPE);
    constants.put("DBSQL_QUERY_CAP", QUERY_CAP);
    constants.put("DBSQL_OP_QUERY", OP_QUERY);
    constants.put("DBSQL_OP_EXEC", OP_EXEC);
    constants.put("DBSQL_OP_PREPARE", OP_PREPARE);
    constants.put("DBSQL_OP_STMT_QUERY", OP_STMT_QUERY);
    constants.put("DBSQL_OP_STMT_EXEC", OP_STMT_EXEC);
    constants.put("DBSQL_OP_BEGIN", OP_BEGIN);
    constants.put("DBSQL_OP_COMMIT", OP_COMMIT);
    constants.put("DBSQL_OP_ROLLBACK", OP_ROLLBACK);
    Map<String, long[]> c = CHeaderLayout.measure("databasesql_event.h", new ArrayList<>(java.keySet()),
        new ArrayList<>(constants.keySet()));
    java.forEach((k, v) -> assertArrayEquals(v, c.get(k), k));
    constants.forEach((k, v) -> assertEquals((long) v, c.get(k)[0], k));
  }
}
