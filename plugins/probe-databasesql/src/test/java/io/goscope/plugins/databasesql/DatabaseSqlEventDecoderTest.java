package io.goscope.plugins.databasesql;

import static io.goscope.plugins.databasesql.DatabaseSqlEventLayout.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TraceRecord;
import io.goscope.api.testing.RecordingSink;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DatabaseSqlEventDecoderTest {
  private static final long PQ_CONNECTOR = 0x7000;
  private static final long DSN_CONNECTOR = 0x7100;
  private static final long SQLITE3_DRIVER = 0x7200;
  private static final long PQ_ERROR = 0x7300;
  private static final Map<Long, String> TYPES = Map.of(PQ_CONNECTOR, "*pq.Connector", DSN_CONNECTOR,
      "sql.dsnConnector", SQLITE3_DRIVER, "*sqlite3.SQLiteDriver", PQ_ERROR, "*pq.Error");

  /** A record as the BPF program writes it. */
  static ByteBuffer record(int op, long connector, long driver, long error, String query, long fullLength) {
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 2).putShort(2, (short) TYPE).putInt(4, 42);
    b.putLong(START_NS, 1_000_000).putLong(END_NS, 3_500_000);
    for (int i = 0; i < 16; i++) {
      b.put(TRACE + TraceRecord.TRACE_ID + i, (byte) (i + 1));
    }
    b.put(TRACE + TraceRecord.SPAN_ID, (byte) 0x22).put(TRACE + TraceRecord.PARENT_SPAN_ID, (byte) 0x11);
    b.put(TRACE + TraceRecord.TRACE_FLAGS, (byte) 1);
    b.putLong(CONNECTOR_TYPE, connector).putLong(DRIVER_TYPE, driver).putLong(ERROR_TYPE, error);
    if (query == null) {
      b.putLong(QUERY_LEN, -1);
    } else {
      byte[] q = query.getBytes(StandardCharsets.UTF_8);
      b.putLong(QUERY_LEN, fullLength);
      b.put(QUERY, q, 0, Math.min(q.length, QUERY_CAP));
    }
    b.put(OP, (byte) op);
    return b;
  }

  static RecordingSink decode(ByteBuffer r, Map<String, String> options) {
    RecordingSink sink = new RecordingSink(options, TYPES);
    new DatabaseSqlEventDecoder().decode(r, RecordHeader.peek(r), sink);
    return sink;
  }

  private static String attr(ProbeSpan s, String key) {
    return s.attributes().get(AttributeKey.stringKey(key));
  }

  @Test
  void queryWithLiteralsIsSanitizedAndNamed() {
    String sql = "SELECT id FROM items WHERE name = 'secret' OR id IN (1, 2, 3)";
    RecordingSink sink = decode(record(OP_QUERY, PQ_CONNECTOR, 0, 0, sql, sql.length()), Map.of());
    ProbeSpan s = sink.spans.get(0);
    assertEquals("SELECT items", s.name());
    assertEquals(SpanKind.CLIENT, s.kind());
    assertEquals("postgresql", attr(s, "db.system.name"));
    assertEquals("SELECT", attr(s, "db.operation.name"));
    assertEquals("items", attr(s, "db.collection.name"));
    assertEquals("SELECT id FROM items WHERE name = ? OR id IN (?)", attr(s, "db.query.text"));
    assertEquals(StatusCode.UNSET, s.status());
    assertEquals("0102030405060708090a0b0c0d0e0f10", s.traceId());
    assertEquals("1100000000000000", s.parentSpanId());
    assertEquals(2_500_000, s.endKtimeNanos() - s.startKtimeNanos());
    assertEquals(1, sink.measurements.size());
    assertEquals(0.0025, sink.measurements.get(0).value(), 1e-12);
    assertEquals("db.client.operation.duration", sink.measurements.get(0).instrument().name());
    assertNull(sink.measurements.get(0).attributes().get(AttributeKey.stringKey("db.query.text")));
    assertEquals("items", sink.measurements.get(0).attributes().get(AttributeKey.stringKey("db.collection.name")));
  }

  @Test
  void driverInsideDsnConnectorAndUnknownDrivers() {
    String sql = "SELECT 1";
    assertEquals("sqlite", attr(decode(record(OP_QUERY, DSN_CONNECTOR, SQLITE3_DRIVER, 0, sql, 8), Map.of())
        .spans.get(0), "db.system.name"));
    assertEquals("other_sql", attr(decode(record(OP_QUERY, 0x9999, 0, 0, sql, 8), Map.of()).spans.get(0),
        "db.system.name"));
    assertEquals("other_sql", attr(decode(record(OP_QUERY, 0, 0, 0, sql, 8), Map.of()).spans.get(0),
        "db.system.name"));
  }

  @Test
  void transactionCallsCarryNoText() {
    for (int op : new int[] {OP_BEGIN, OP_COMMIT, OP_ROLLBACK}) {
      ProbeSpan s = decode(record(op, PQ_CONNECTOR, 0, 0, null, -1), Map.of()).spans.get(0);
      String expected = op == OP_BEGIN ? "BEGIN" : op == OP_COMMIT ? "COMMIT" : "ROLLBACK";
      assertEquals(expected, s.name());
      assertEquals(expected, attr(s, "db.operation.name"));
      assertNull(attr(s, "db.query.text"));
    }
  }

  @Test
  void prepareAndStatementRuns() {
    String sql = "SELECT name FROM items WHERE id = $1";
    ProbeSpan prepare = decode(record(OP_PREPARE, PQ_CONNECTOR, 0, 0, sql, sql.length()), Map.of()).spans.get(0);
    assertEquals("PREPARE items", prepare.name());
    assertEquals(sql, attr(prepare, "db.query.text"));
    ProbeSpan run = decode(record(OP_STMT_EXEC, PQ_CONNECTOR, 0, 0, "DELETE FROM items WHERE id = $1", 31),
        Map.of()).spans.get(0);
    assertEquals("DELETE items", run.name());
  }

  @Test
  void errorsCarryTheirGoTypeOrOther() {
    String sql = "SELEC 1";
    ProbeSpan named = decode(record(OP_EXEC, PQ_CONNECTOR, 0, PQ_ERROR, sql, 7), Map.of()).spans.get(0);
    assertEquals(StatusCode.ERROR, named.status());
    assertEquals("*pq.Error", attr(named, "error.type"));
    ProbeSpan unnamed = decode(record(OP_EXEC, PQ_CONNECTOR, 0, 1, sql, 7), Map.of()).spans.get(0);
    assertEquals("_OTHER", attr(unnamed, "error.type"));
    RecordingSink sink = decode(record(OP_EXEC, PQ_CONNECTOR, 0, PQ_ERROR, sql, 7), Map.of());
    assertEquals("*pq.Error", sink.measurements.get(0).attributes().get(AttributeKey.stringKey("error.type")));
  }

  @Test
  void queryTextModes() {
    String sql = "UPDATE t SET a = 'secret'";
    assertNull(attr(decode(record(OP_EXEC, PQ_CONNECTOR, 0, 0, sql, sql.length()),
        Map.of("db.query.text", "off")).spans.get(0), "db.query.text"));
    assertEquals(sql, attr(decode(record(OP_EXEC, PQ_CONNECTOR, 0, 0, sql, sql.length()),
        Map.of("db.query.text", "raw")).spans.get(0), "db.query.text"));
    assertEquals("UPDATE t SET a = ?", attr(decode(record(OP_EXEC, PQ_CONNECTOR, 0, 0, sql, sql.length()),
        Map.of("db.query.text", "bogus")).spans.get(0), "db.query.text"));
  }

  @Test
  void truncatedTextIsSanitizedAndMarked() {
    String sql = "INSERT INTO t (a) VALUES ('" + "x".repeat(QUERY_CAP) + "')";
    ProbeSpan s = decode(record(OP_EXEC, PQ_CONNECTOR, 0, 0, sql, sql.length()), Map.of()).spans.get(0);
    assertEquals("INSERT INTO t (a) VALUES (?", attr(s, "db.query.text"));
    assertEquals(Boolean.TRUE, s.attributes().get(AttributeKey.booleanKey("goscope.db.query.text.truncated")));
    assertEquals((long) sql.length(), s.attributes().get(AttributeKey.longKey("goscope.db.query.text.length")));
  }

  @Test
  void malformedRecordsAreRejected() {
    ByteBuffer short_ = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    short_.putShort(2, (short) TYPE);
    assertThrows(RecordFormatException.class, () -> decode(short_, Map.of()));
    ByteBuffer badOp = record(99, PQ_CONNECTOR, 0, 0, "SELECT 1", 8);
    assertThrows(RecordFormatException.class, () -> decode(badOp, Map.of()));
    ByteBuffer badType = record(OP_QUERY, PQ_CONNECTOR, 0, 0, "SELECT 1", 8);
    badType.putShort(2, (short) 7);
    assertThrows(RecordFormatException.class, () -> decode(badType, Map.of()));
  }

  @Test
  void driverSystemNames() {
    assertEquals("postgresql", DriverSystem.of("*github.com/lib/pq.Connector", null));
    assertEquals("postgresql", DriverSystem.of("*stdlib.driverConnector", null));
    assertEquals("mysql", DriverSystem.of("*mysql.connector", null));
    assertEquals("sqlite", DriverSystem.of("*sqlite.Driver", null));
    assertEquals("sqlite", DriverSystem.of("database/sql.dsnConnector", "*sqlite3.SQLiteDriver"));
    assertEquals("other_sql", DriverSystem.of("sql.dsnConnector", null));
    assertEquals("other_sql", DriverSystem.of(null, null));
    assertTrue(DriverSystem.packageOf("*a/b/c.T").equals("c"));
  }
}
