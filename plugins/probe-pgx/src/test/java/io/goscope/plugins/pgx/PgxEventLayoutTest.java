package io.goscope.plugins.pgx;

import static io.goscope.plugins.pgx.PgxEventLayout.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.TraceRecord;
import io.goscope.api.testing.CHeaderLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Keeps {@link PgxEventLayout} in sync with {@code pgx_event.h} (compiled with the host C compiler). */
class PgxEventLayoutTest {
  @Test
  void cStructsMatchJavaLayout() throws Exception {
    Map<String, long[]> java = new LinkedHashMap<>();
    for (String s : new String[] {"pgx_event", "pgx_batch_event"}) {
      java.put(s + ".start_ns", new long[] {START_NS, 8});
      java.put(s + ".end_ns", new long[] {END_NS, 8});
      java.put(s + ".trace", new long[] {TRACE, TraceRecord.SIZE});
      java.put(s + ".error_type", new long[] {ERROR_TYPE, 8});
      java.put(s + ".host_len", new long[] {HOST_LEN, 8});
      java.put(s + ".database_len", new long[] {DATABASE_LEN, 8});
      java.put(s + ".query_len", new long[] {QUERY_LEN, 8});
      java.put(s + ".port", new long[] {PORT, 2});
      java.put(s + ".op", new long[] {OP, 1});
      java.put(s + ".host", new long[] {HOST, HOST_CAP});
      java.put(s + ".database", new long[] {DATABASE, DATABASE_CAP});
    }
    java.put("pgx_event.query", new long[] {QUERY, QUERY_CAP});
    java.put("pgx_event.sizeof", new long[] {SIZE, 0});
    java.put("pgx_batch_event.batch_size", new long[] {BATCH_SIZE, 8});
    java.put("pgx_batch_event.query_lens", new long[] {BATCH_QUERY_LENS, 8 * BATCH_QUERY_COUNT});
    java.put("pgx_batch_event.queries", new long[] {BATCH_QUERIES, BATCH_QUERY_COUNT * BATCH_QUERY_CAP});
    java.put("pgx_batch_event.sizeof", new long[] {BATCH_RECORD_SIZE, 0});
    Map<String, Integer> constants = new LinkedHashMap<>();
    constants.put("PGX_RECORD_OP", TYPE_OP);
    constants.put("PGX_RECORD_BATCH", TYPE_BATCH);
    constants.put("PGX_OP_QUERY", OP_QUERY);
    constants.put("PGX_OP_EXEC", OP_EXEC);
    constants.put("PGX_OP_BATCH", OP_BATCH);
    constants.put("PGX_BATCH_QUERIES", BATCH_QUERY_COUNT);
    constants.put("PGX_BATCH_QUERY_CAP", BATCH_QUERY_CAP);
    Map<String, long[]> c = CHeaderLayout.measure("pgx_event.h", new ArrayList<>(java.keySet()),
        new ArrayList<>(constants.keySet()));
    java.forEach((k, v) -> assertArrayEquals(v, c.get(k), k));
    constants.forEach((k, v) -> assertEquals((long) v, c.get(k)[0], k));
  }
}
