package io.goscope.plugins.redis;

import static io.goscope.plugins.redis.RedisEventLayout.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.TraceRecord;
import io.goscope.api.testing.CHeaderLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Keeps {@link RedisEventLayout} in sync with {@code struct redis_event} (compiled with the host C compiler). */
class RedisEventLayoutTest {
  @Test
  void cStructMatchesJavaLayout() throws Exception {
    Map<String, long[]> java = new LinkedHashMap<>();
    java.put("redis_event.start_ns", new long[] {START_NS, 8});
    java.put("redis_event.end_ns", new long[] {END_NS, 8});
    java.put("redis_event.trace", new long[] {TRACE, TraceRecord.SIZE});
    java.put("redis_event.error_type", new long[] {ERROR_TYPE, 8});
    java.put("redis_event.db", new long[] {DB, 8});
    java.put("redis_event.addr_len", new long[] {ADDR_LEN, 8});
    java.put("redis_event.cmd_count", new long[] {CMD_COUNT, 8});
    java.put("redis_event.arg_counts", new long[] {ARG_COUNTS, 8 * MAX_CMDS});
    java.put("redis_event.name_lens", new long[] {NAME_LENS, 8 * MAX_CMDS});
    java.put("redis_event.kind", new long[] {KIND, 1});
    java.put("redis_event.nil_reply", new long[] {NIL_REPLY, 1});
    java.put("redis_event.addr", new long[] {ADDR, ADDR_CAP});
    java.put("redis_event.names", new long[] {NAMES, MAX_CMDS * NAME_CAP});
    java.put("redis_event.sizeof", new long[] {SIZE, 0});
    Map<String, Integer> constants = new LinkedHashMap<>();
    constants.put("REDIS_RECORD_OP", TYPE);
    constants.put("REDIS_MAX_CMDS", MAX_CMDS);
    constants.put("REDIS_NAME_CAP", NAME_CAP);
    constants.put("REDIS_KIND_COMMAND", KIND_COMMAND);
    constants.put("REDIS_KIND_PIPELINE", KIND_PIPELINE);
    constants.put("REDIS_KIND_TRANSACTION", KIND_TRANSACTION);
    Map<String, long[]> c = CHeaderLayout.measure("redis_event.h", new ArrayList<>(java.keySet()),
        new ArrayList<>(constants.keySet()));
    java.forEach((k, v) -> assertArrayEquals(v, c.get(k), k));
    constants.forEach((k, v) -> assertEquals((long) v, c.get(k)[0], k));
  }
}
