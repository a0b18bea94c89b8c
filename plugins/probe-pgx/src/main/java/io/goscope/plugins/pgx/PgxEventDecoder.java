package io.goscope.plugins.pgx;

import static io.goscope.plugins.pgx.PgxEventLayout.*;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordAttributes;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.SqlStatements;
import io.goscope.api.SqlStatements.Dialect;
import io.goscope.api.SqlStatements.QueryTextMode;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TraceRecord;
import io.goscope.api.TracedProcess;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;


/**
 * Decodes pgx records ({@link PgxEventLayout}) into CLIENT spans and {@code db.client.operation.duration}, following
 * the database semantic conventions: {@code db.system.name=postgresql}, {@code db.namespace} the database,
 * {@code server.address}/{@code server.port} from the connection's config, the sanitized (or, as the rule option
 * {@code db.query.text} asks, absent or raw) text, {@code db.operation.name}, {@code db.collection.name}, and for an
 * error status ERROR with {@code error.type} the Go type of the error ({@code *pgconn.PgError}, or {@code _OTHER}).
 * A batch is one span named {@code BATCH}, with {@code db.operation.batch.size} and the texts of its first four
 * statements joined by {@code "; "}. Stateless and thread-safe.
 */
public final class PgxEventDecoder implements RecordDecoder {
  /** Instrumentation scope of every span and metric of this probe set. */
  public static final String SCOPE = "io.goscope.pgx";

  static final AttributeKey<String> DB_SYSTEM_NAME = AttributeKey.stringKey("db.system.name");
  static final AttributeKey<String> DB_NAMESPACE = AttributeKey.stringKey("db.namespace");
  static final AttributeKey<String> DB_QUERY_TEXT = AttributeKey.stringKey("db.query.text");
  static final AttributeKey<String> DB_OPERATION_NAME = AttributeKey.stringKey("db.operation.name");
  static final AttributeKey<String> DB_COLLECTION_NAME = AttributeKey.stringKey("db.collection.name");
  static final AttributeKey<Long> DB_OPERATION_BATCH_SIZE = AttributeKey.longKey("db.operation.batch.size");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<Boolean> QUERY_TEXT_TRUNCATED =
      AttributeKey.booleanKey("goscope.db.query.text.truncated");

  /** Bucket boundaries the conventions recommend for {@code db.client.operation.duration}, in seconds. */
  public static final List<Double> DURATION_BOUNDARIES =
      List.of(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0);

  public static final HistogramInstrument OPERATION_DURATION = new HistogramInstrument(
      "db.client.operation.duration", "s", "Duration of database client operations.", DURATION_BOUNDARIES, SCOPE);

  private static final String SYSTEM = "postgresql";

  @Override
  public void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink) {
    int size = switch (header.type()) {
      case TYPE_OP -> SIZE;
      case TYPE_BATCH -> BATCH_RECORD_SIZE;
      default -> throw new RecordFormatException(
          "decode pgx record pid=" + header.pid() + ": unknown record type " + header.type());
    };
    if (record.remaining() < size) {
      throw new RecordFormatException("decode pgx record pid=" + header.pid() + ": record has "
          + record.remaining() + " bytes, needs " + size);
    }
    ByteBuffer r = record.slice(record.position(), size).order(ByteOrder.LITTLE_ENDIAN);
    TracedProcess process = sink.process();
    QueryTextMode mode = QueryTextMode.of(process);
    AttributesBuilder attrs = RecordAttributes.builder().put(DB_SYSTEM_NAME, SYSTEM);
    String database = string(r, DATABASE, r.getLong(DATABASE_LEN), DATABASE_CAP);
    if (database != null && !database.isEmpty()) {
      attrs.put(DB_NAMESPACE, database);
    }
    String host = string(r, HOST, r.getLong(HOST_LEN), HOST_CAP);
    if (host != null && !host.isEmpty()) {
      attrs.put(SERVER_ADDRESS, host);
      int port = Short.toUnsignedInt(r.getShort(PORT));
      if (port != 0) {
        attrs.put(SERVER_PORT, (long) port);
      }
    }
    String operation = null;
    String collection = null;
    if (header.type() == TYPE_OP) {
      long len = r.getLong(QUERY_LEN);
      String text = string(r, QUERY, len, QUERY_CAP);
      if (text != null) {
        operation = SqlStatements.operationName(text);
        collection = SqlStatements.collectionName(text);
        putText(attrs, mode, List.of(text), len > QUERY_CAP);
      }
    } else {
      operation = "BATCH";
      long batchSize = r.getLong(BATCH_SIZE);
      if (batchSize >= 0) {
        attrs.put(DB_OPERATION_BATCH_SIZE, batchSize);
      }
      List<String> texts = new ArrayList<>();
      boolean truncated = batchSize > BATCH_QUERY_COUNT;
      for (int i = 0; i < BATCH_QUERY_COUNT; i++) {
        long len = r.getLong(BATCH_QUERY_LENS + 8 * i);
        String text = string(r, BATCH_QUERIES + BATCH_QUERY_CAP * i, len, BATCH_QUERY_CAP);
        if (text != null) {
          texts.add(text);
          truncated |= len > BATCH_QUERY_CAP;
        }
      }
      if (!texts.isEmpty()) {
        String first = SqlStatements.operationName(texts.get(0));
        boolean same = first != null && texts.stream().allMatch(t -> first.equals(SqlStatements.operationName(t)));
        if (same && !truncated) {
          operation = "BATCH " + first; // the conventions' name for a batch of one kind of operation
        }
        putText(attrs, mode, texts, truncated);
      }
    }
    if (operation != null) {
      attrs.put(DB_OPERATION_NAME, operation);
    }
    if (collection != null) {
      attrs.put(DB_COLLECTION_NAME, collection);
    }
    long errorType = r.getLong(PgxEventLayout.ERROR_TYPE);
    String error = null;
    if (errorType != 0) {
      error = process.goTypeName(errorType).orElse("_OTHER");
      attrs.put(ERROR_TYPE, error);
    }
    String name = SqlStatements.spanName(operation, collection,
        database != null && !database.isEmpty() ? database : SYSTEM);
    ProbeSpan.Builder span = ProbeSpan.builder(name, SCOPE)
        .kind(SpanKind.CLIENT)
        .timestamps(r.getLong(START_NS), r.getLong(END_NS))
        .attributes(attrs.build())
        .status(error != null ? StatusCode.ERROR : StatusCode.UNSET, "");
    TraceRecord.apply(r, TRACE, span);
    ProbeSpan built = span.build();
    sink.span(built);
    AttributesBuilder m = Attributes.builder().put(DB_SYSTEM_NAME, SYSTEM);
    for (AttributeKey<String> k : List.of(DB_NAMESPACE, DB_OPERATION_NAME, DB_COLLECTION_NAME, SERVER_ADDRESS,
        ERROR_TYPE)) {
      String v = built.attributes().get(k);
      if (v != null) {
        m.put(k, v);
      }
    }
    Long port = built.attributes().get(SERVER_PORT);
    if (port != null) {
      m.put(SERVER_PORT, port);
    }
    sink.histogram(OPERATION_DURATION, (built.endKtimeNanos() - built.startKtimeNanos()) / 1e9, m.build());
  }

  private static void putText(AttributesBuilder attrs, QueryTextMode mode, List<String> texts, boolean truncated) {
    if (mode == QueryTextMode.OFF) {
      return;
    }
    List<String> out = new ArrayList<>();
    for (String t : texts) {
      out.add(mode == QueryTextMode.RAW ? t : SqlStatements.sanitize(t, Dialect.POSTGRESQL));
    }
    attrs.put(DB_QUERY_TEXT, String.join("; ", out));
    if (truncated) {
      attrs.put(QUERY_TEXT_TRUNCATED, true);
    }
  }

  private static String string(ByteBuffer r, int offset, long len, int cap) {
    if (len < 0) {
      return null;
    }
    byte[] bytes = new byte[(int) Math.min(len, cap)];
    r.get(offset, bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

}
