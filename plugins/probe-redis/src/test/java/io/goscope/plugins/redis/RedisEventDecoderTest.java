package io.goscope.plugins.redis;

import static io.goscope.plugins.redis.RedisEventLayout.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.testing.RecordingSink;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RedisEventDecoderTest {
  private static final long REDIS_ERROR = 0x6000;

  /** commands: name and argument count (name included), as go-redis holds them. */
  static ByteBuffer record(int kind, long count, long error, boolean nil, Object... commands) {
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 3).putShort(2, (short) TYPE).putInt(4, 42);
    b.putLong(START_NS, 0).putLong(END_NS, 500_000);
    b.put(TRACE, (byte) 1).put(TRACE + 16, (byte) 2).put(TRACE + 32, (byte) 1);
    b.putLong(ERROR_TYPE, error).putLong(DB, 3);
    byte[] addr = "127.0.0.1:6380".getBytes(StandardCharsets.US_ASCII);
    b.putLong(ADDR_LEN, addr.length).put(ADDR, addr);
    b.putLong(CMD_COUNT, count);
    for (int i = 0; i < MAX_CMDS; i++) {
      if (2 * i < commands.length) {
        byte[] name = ((String) commands[2 * i]).getBytes(StandardCharsets.US_ASCII);
        b.putLong(NAME_LENS + 8 * i, name.length).put(NAMES + NAME_CAP * i, name);
        b.putLong(ARG_COUNTS + 8 * i, (Integer) commands[2 * i + 1]);
      } else {
        b.putLong(NAME_LENS + 8 * i, -1).putLong(ARG_COUNTS + 8 * i, -1);
      }
    }
    b.put(KIND, (byte) kind).put(NIL_REPLY, (byte) (nil ? 1 : 0));
    return b;
  }

  static RecordingSink decode(ByteBuffer r, Map<String, String> options) {
    RecordingSink sink = new RecordingSink(options, Map.of(REDIS_ERROR, "proto.RedisError"));
    new RedisEventDecoder().decode(r, RecordHeader.peek(r), sink);
    return sink;
  }

  private static Object attr(ProbeSpan s, String key) {
    return s.attributes().asMap().entrySet().stream().filter(e -> e.getKey().getKey().equals(key))
        .map(Map.Entry::getValue).findFirst().orElse(null);
  }

  @Test
  void commandWithArgumentsRedacted() {
    RecordingSink sink = decode(record(KIND_COMMAND, 1, 0, false, "set", 5), Map.of());
    ProbeSpan s = sink.spans.get(0);
    assertEquals("SET", s.name());
    assertEquals("SET", attr(s, "db.operation.name"));
    assertEquals("SET ? ? ? ?", attr(s, "db.query.text"));
    assertEquals("redis", attr(s, "db.system.name"));
    assertEquals("3", attr(s, "db.namespace"));
    assertEquals("127.0.0.1", attr(s, "server.address"));
    assertEquals(6380L, attr(s, "server.port"));
    assertEquals(StatusCode.UNSET, s.status());
    assertEquals(0.0005, sink.measurements.get(0).value(), 1e-12);
  }

  @Test
  void pipelinesAndTransactions() {
    ProbeSpan p = decode(record(KIND_PIPELINE, 3, 0, false, "incr", 2, "expire", 3, "get", 2), Map.of())
        .spans.get(0);
    assertEquals("PIPELINE", p.name());
    assertEquals(3L, attr(p, "db.operation.batch.size"));
    assertEquals("INCR ?; EXPIRE ? ?; GET ?", attr(p, "db.query.text"));
    ProbeSpan t = decode(record(KIND_TRANSACTION, 9, 0, false, "incr", 2), Map.of()).spans.get(0);
    assertEquals("MULTI", t.name());
    assertEquals("INCR ?; ?; ?; ?; ?; ?; ?; ?; ...", attr(t, "db.query.text"));
  }

  @Test
  void nilIsNotAnErrorButOtherErrorsAre() {
    ProbeSpan nil = decode(record(KIND_COMMAND, 1, REDIS_ERROR, true, "get", 2), Map.of()).spans.get(0);
    assertEquals(StatusCode.UNSET, nil.status());
    assertNull(attr(nil, "error.type"));
    ProbeSpan err = decode(record(KIND_COMMAND, 1, REDIS_ERROR, false, "get", 2), Map.of()).spans.get(0);
    assertEquals(StatusCode.ERROR, err.status());
    assertEquals("proto.RedisError", attr(err, "error.type"));
  }

  @Test
  void textOffAndUnreadableNames() {
    assertNull(attr(decode(record(KIND_COMMAND, 1, 0, false, "get", 2), Map.of("db.query.text", "off"))
        .spans.get(0), "db.query.text"));
    ProbeSpan weird = decode(record(KIND_COMMAND, 1, 0, false, "g\u0001t", 2), Map.of()).spans.get(0);
    assertEquals("redis", weird.name());
    assertEquals("? ?", attr(weird, "db.query.text"));
  }

  @Test
  void malformed() {
    ByteBuffer b = record(KIND_COMMAND, 1, 0, false, "get", 2);
    b.putShort(2, (short) 5);
    assertThrows(RecordFormatException.class, () -> decode(b, Map.of()));
  }
}
