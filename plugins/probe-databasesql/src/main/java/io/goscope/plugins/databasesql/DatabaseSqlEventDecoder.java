package io.goscope.plugins.databasesql;

import static io.goscope.plugins.databasesql.DatabaseSqlEventLayout.*;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordAttributes;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.SqlStatements;
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
import java.util.List;

/**
 * Decodes database/sql records ({@link DatabaseSqlEventLayout}) into CLIENT spans and the
 * {@code db.client.operation.duration} histogram, following the OpenTelemetry database semantic conventions.
 * Stateless and thread-safe.
 *
 * <ul>
 *   <li>{@code db.system.name} from the driver ({@link DriverSystem}); {@code other_sql} when it cannot be told.
 *   <li>{@code db.query.text}: sanitized by default (every literal {@code ?}, in the driver's dialect); the rule option
 *       {@code db.query.text} turns it {@code off} or, explicitly, {@code raw}. A text longer than the probe's copy is
 *       sanitized as far as it was copied and marked with {@code goscope.db.query.text.truncated} (and its full
 *       length in {@code goscope.db.query.text.length}).
 *   <li>{@code db.operation.name}: the statement's first keyword (SELECT, INSERT, ...); {@code PREPARE} for a
 *       prepare, {@code BEGIN}, {@code COMMIT} and {@code ROLLBACK} for the transaction calls (which carry no text).
 *   <li>{@code db.collection.name}: the first table the statement names, where it can be told.
 *   <li>An error: status ERROR and {@code error.type} the Go type of the error ({@code *pq.Error}, ...), or
 *       {@code _OTHER} when the type's name cannot be read.
 *   <li>Span name {@code {operation} {collection}}, the operation alone, else the system name.
 * </ul>
 */
public final class DatabaseSqlEventDecoder implements RecordDecoder {
  /** Instrumentation scope of every span and metric of this probe set. */
  public static final String SCOPE = "io.goscope.databasesql";

  static final AttributeKey<String> DB_SYSTEM_NAME = AttributeKey.stringKey("db.system.name");
  static final AttributeKey<String> DB_QUERY_TEXT = AttributeKey.stringKey("db.query.text");
  static final AttributeKey<String> DB_OPERATION_NAME = AttributeKey.stringKey("db.operation.name");
  static final AttributeKey<String> DB_COLLECTION_NAME = AttributeKey.stringKey("db.collection.name");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<Boolean> QUERY_TEXT_TRUNCATED =
      AttributeKey.booleanKey("goscope.db.query.text.truncated");
  static final AttributeKey<Long> QUERY_TEXT_LENGTH = AttributeKey.longKey("goscope.db.query.text.length");

  /** Bucket boundaries the conventions recommend for {@code db.client.operation.duration}, in seconds. */
  public static final List<Double> DURATION_BOUNDARIES =
      List.of(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0);

  /** {@code db.client.operation.duration}: each span's duration, with the span's low-cardinality attributes. */
  public static final HistogramInstrument OPERATION_DURATION = new HistogramInstrument(
      "db.client.operation.duration", "s", "Duration of database client operations.", DURATION_BOUNDARIES, SCOPE);

  private static final String OTHER = "_OTHER";

  @Override
  public void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink) {
    if (header.type() != TYPE) {
      throw new RecordFormatException(
          "decode databasesql record pid=" + header.pid() + ": unknown record type " + header.type());
    }
    if (record.remaining() < SIZE) {
      throw new RecordFormatException("decode databasesql record pid=" + header.pid() + ": record has "
          + record.remaining() + " bytes, needs " + SIZE);
    }
    ByteBuffer r = record.slice(record.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    TracedProcess process = sink.process();
    String system = DriverSystem.of(typeName(process, r.getLong(CONNECTOR_TYPE)),
        typeName(process, r.getLong(DRIVER_TYPE)));
    int op = r.get(OP);
    long queryLen = r.getLong(QUERY_LEN);
    String text = null;
    if (queryLen >= 0) {
      byte[] bytes = new byte[(int) Math.min(queryLen, QUERY_CAP)];
      r.get(QUERY, bytes);
      text = new String(bytes, StandardCharsets.UTF_8);
    }

    AttributesBuilder attrs = RecordAttributes.builder().put(DB_SYSTEM_NAME, system);
    String operation;
    String collection = null;
    switch (op) {
      case OP_QUERY, OP_EXEC, OP_STMT_QUERY, OP_STMT_EXEC, OP_PREPARE -> {
        operation = text == null ? null : SqlStatements.operationName(text);
        collection = text == null ? null : SqlStatements.collectionName(text);
        if (op == OP_PREPARE) {
          operation = "PREPARE";
        }
      }
      case OP_BEGIN -> operation = "BEGIN";
      case OP_COMMIT -> operation = "COMMIT";
      case OP_ROLLBACK -> operation = "ROLLBACK";
      default -> throw new RecordFormatException(
          "decode databasesql record pid=" + header.pid() + ": unknown operation " + op);
    }
    if (operation != null) {
      attrs.put(DB_OPERATION_NAME, operation);
    }
    if (collection != null) {
      attrs.put(DB_COLLECTION_NAME, collection);
    }
    if (text != null) {
      putQueryText(attrs, text, queryLen, system, process);
    }
    long errorType = r.getLong(DatabaseSqlEventLayout.ERROR_TYPE);
    String error = null;
    if (errorType != 0) {
      error = process.goTypeName(errorType).orElse(OTHER);
      attrs.put(ERROR_TYPE, error);
    }
    ProbeSpan.Builder span = ProbeSpan.builder(SqlStatements.spanName(operation, collection, system), SCOPE)
        .kind(SpanKind.CLIENT)
        .timestamps(r.getLong(START_NS), r.getLong(END_NS))
        .attributes(attrs.build())
        .status(error != null ? StatusCode.ERROR : StatusCode.UNSET, "");
    TraceRecord.apply(r, TRACE, span);
    ProbeSpan built = span.build();
    sink.span(built);
    sink.histogram(OPERATION_DURATION, (built.endKtimeNanos() - built.startKtimeNanos()) / 1e9,
        metricAttributes(system, operation, collection, error));
  }

  /** {@code db.query.text} as the process's rule asks (sanitized unless told otherwise), with truncation marks. */
  static void putQueryText(AttributesBuilder attrs, String text, long fullLength, String system,
      TracedProcess process) {
    QueryTextMode mode = QueryTextMode.of(process);
    if (mode == QueryTextMode.OFF) {
      return;
    }
    attrs.put(DB_QUERY_TEXT, mode == QueryTextMode.RAW ? text
        : SqlStatements.sanitize(text, SqlStatements.Dialect.ofSystem(system)));
    if (fullLength > QUERY_CAP) {
      attrs.put(QUERY_TEXT_TRUNCATED, true);
      attrs.put(QUERY_TEXT_LENGTH, fullLength);
    }
  }

  static Attributes metricAttributes(String system, String operation, String collection, String error) {
    AttributesBuilder b = Attributes.builder().put(DB_SYSTEM_NAME, system);
    if (operation != null) {
      b.put(DB_OPERATION_NAME, operation);
    }
    if (collection != null) {
      b.put(DB_COLLECTION_NAME, collection);
    }
    if (error != null) {
      b.put(ERROR_TYPE, error);
    }
    return b.build();
  }

  private static String typeName(TracedProcess process, long address) {
    return address == 0 ? null : process.goTypeName(address).orElse(null);
  }
}
