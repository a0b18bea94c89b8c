package io.goscope.plugins.pgx;

import static io.goscope.plugins.pgx.PgxEventLayout.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.testing.RecordingSink;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PgxEventDecoderTest {
  private static final long PG_ERROR = 0x5000;

  private static ByteBuffer base(int type, int size, int op, long error) {
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 1).putShort(2, (short) type).putInt(4, 42);
    b.putLong(START_NS, 100).putLong(END_NS, 2_000_100);
    b.put(TRACE, (byte) 1).put(TRACE + 16, (byte) 2).put(TRACE + 32, (byte) 1);
    b.putLong(ERROR_TYPE, error);
    put(b, HOST, HOST_LEN, "127.0.0.1");
    put(b, DATABASE, DATABASE_LEN, "shop");
    b.putShort(PORT, (short) 5432);
    b.put(OP, (byte) op);
    b.putLong(QUERY_LEN, -1);
    return b;
  }

  private static void put(ByteBuffer b, int at, int lenAt, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    b.putLong(lenAt, bytes.length);
    b.put(at, bytes);
  }

  static ByteBuffer op(int op, String sql, long error) {
    ByteBuffer b = base(TYPE_OP, SIZE, op, error);
    put(b, QUERY, QUERY_LEN, sql);
    return b;
  }

  static ByteBuffer batch(long size, List<String> sqls) {
    ByteBuffer b = base(TYPE_BATCH, BATCH_RECORD_SIZE, OP_BATCH, 0);
    b.putLong(BATCH_SIZE, size);
    for (int i = 0; i < BATCH_QUERY_COUNT; i++) {
      if (i < sqls.size()) {
        put(b, BATCH_QUERIES + i * BATCH_QUERY_CAP, BATCH_QUERY_LENS + 8 * i, sqls.get(i));
      } else {
        b.putLong(BATCH_QUERY_LENS + 8 * i, -1);
      }
    }
    return b;
  }

  static RecordingSink decode(ByteBuffer r, Map<String, String> options) {
    RecordingSink sink = new RecordingSink(options, Map.of(PG_ERROR, "*pgconn.PgError"));
    new PgxEventDecoder().decode(r, RecordHeader.peek(r), sink);
    return sink;
  }

  private static Object attr(ProbeSpan s, String key) {
    return s.attributes().asMap().entrySet().stream().filter(e -> e.getKey().getKey().equals(key))
        .map(Map.Entry::getValue).findFirst().orElse(null);
  }

  @Test
  void queryWithConnectionAttributes() {
    RecordingSink sink = decode(op(OP_QUERY, "SELECT * FROM orders WHERE id IN (1, 2) AND note = 'x'", 0), Map.of());
    ProbeSpan s = sink.spans.get(0);
    assertEquals("SELECT orders", s.name());
    assertEquals("postgresql", attr(s, "db.system.name"));
    assertEquals("shop", attr(s, "db.namespace"));
    assertEquals("127.0.0.1", attr(s, "server.address"));
    assertEquals(5432L, attr(s, "server.port"));
    assertEquals("SELECT * FROM orders WHERE id IN (?) AND note = ?", attr(s, "db.query.text"));
    assertEquals("orders", attr(s, "db.collection.name"));
    assertEquals(0.002, sink.measurements.get(0).value(), 1e-12);
    assertEquals("shop", sink.measurements.get(0).attributes().get(AttributeKey.stringKey("db.namespace")));
  }

  @Test
  void errorsAndTextModes() {
    ProbeSpan s = decode(op(OP_EXEC, "SELEC 1", PG_ERROR), Map.of()).spans.get(0);
    assertEquals(StatusCode.ERROR, s.status());
    assertEquals("*pgconn.PgError", attr(s, "error.type"));
    assertEquals("_OTHER", attr(decode(op(OP_EXEC, "SELEC 1", 1), Map.of()).spans.get(0), "error.type"));
    assertNull(attr(decode(op(OP_EXEC, "DELETE FROM t WHERE a = 'x'", 0), Map.of("db.query.text", "off"))
        .spans.get(0), "db.query.text"));
    assertEquals("DELETE FROM t WHERE a = 'x'", attr(decode(op(OP_EXEC, "DELETE FROM t WHERE a = 'x'", 0),
        Map.of("db.query.text", "raw")).spans.get(0), "db.query.text"));
  }

  @Test
  void batches() {
    ProbeSpan mixed = decode(batch(3, List.of("SELECT 1", "UPDATE t SET a = 'x'", "SELECT 2")), Map.of())
        .spans.get(0);
    assertEquals("BATCH", mixed.name());
    assertEquals(3L, attr(mixed, "db.operation.batch.size"));
    assertEquals("SELECT ?; UPDATE t SET a = ?; SELECT ?", attr(mixed, "db.query.text"));
    ProbeSpan same = decode(batch(2, List.of("INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)")), Map.of())
        .spans.get(0);
    assertEquals("BATCH INSERT", same.name());
    ProbeSpan many = decode(batch(9, List.of("SELECT 1", "SELECT 1", "SELECT 1", "SELECT 1")), Map.of())
        .spans.get(0);
    assertEquals("BATCH", many.name(), "only four texts seen: the kind of the others is unknown");
    assertEquals(Boolean.TRUE, attr(many, "goscope.db.query.text.truncated"));
  }

  @Test
  void malformed() {
    ByteBuffer b = op(OP_QUERY, "SELECT 1", 0);
    b.putShort(2, (short) 9);
    assertThrows(RecordFormatException.class, () -> decode(b, Map.of()));
    ByteBuffer shortBatch = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    shortBatch.putShort(2, (short) TYPE_BATCH);
    assertThrows(RecordFormatException.class, () -> decode(shortBatch, Map.of()));
  }
}
