package io.goscope.plugins.redis;

import static io.goscope.plugins.redis.RedisEventLayout.*;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordAttributes;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.SqlStatements.QueryTextMode;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TraceRecord;
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
import java.util.Locale;

/**
 * Decodes go-redis records ({@link RedisEventLayout}) into CLIENT spans and {@code db.client.operation.duration},
 * following the Redis semantic conventions: {@code db.system.name=redis}, {@code db.operation.name} the command in
 * upper case ({@code PIPELINE} or {@code MULTI} for a pipeline or transaction, with {@code db.operation.batch.size}),
 * {@code db.query.text} the command with every argument as {@code ?} ({@code GET ?}; a pipeline's commands joined by
 * {@code "; "}, at most eight; nothing with the rule option {@code db.query.text: off}; arguments are never copied,
 * so {@code raw} gives the same redacted text), {@code db.namespace} the database index, {@code server.address} and
 * {@code server.port} from the client's options. go-redis's {@code Nil} (a missing key) is not an error; any other
 * error sets status ERROR and {@code error.type} (the Go type, or {@code _OTHER}). Stateless and thread-safe.
 */
public final class RedisEventDecoder implements RecordDecoder {
  /** Instrumentation scope of every span and metric of this probe set. */
  public static final String SCOPE = "io.goscope.redis";

  static final AttributeKey<String> DB_SYSTEM_NAME = AttributeKey.stringKey("db.system.name");
  static final AttributeKey<String> DB_NAMESPACE = AttributeKey.stringKey("db.namespace");
  static final AttributeKey<String> DB_QUERY_TEXT = AttributeKey.stringKey("db.query.text");
  static final AttributeKey<String> DB_OPERATION_NAME = AttributeKey.stringKey("db.operation.name");
  static final AttributeKey<Long> DB_OPERATION_BATCH_SIZE = AttributeKey.longKey("db.operation.batch.size");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

  /** Bucket boundaries the conventions recommend for {@code db.client.operation.duration}, in seconds. */
  public static final List<Double> DURATION_BOUNDARIES =
      List.of(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0);

  public static final HistogramInstrument OPERATION_DURATION = new HistogramInstrument(
      "db.client.operation.duration", "s", "Duration of database client operations.", DURATION_BOUNDARIES, SCOPE);

  private static final String SYSTEM = "redis";

  @Override
  public void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink) {
    if (header.type() != TYPE) {
      throw new RecordFormatException(
          "decode redis record pid=" + header.pid() + ": unknown record type " + header.type());
    }
    if (record.remaining() < SIZE) {
      throw new RecordFormatException("decode redis record pid=" + header.pid() + ": record has "
          + record.remaining() + " bytes, needs " + SIZE);
    }
    ByteBuffer r = record.slice(record.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    AttributesBuilder attrs = RecordAttributes.builder().put(DB_SYSTEM_NAME, SYSTEM);
    long db = r.getLong(DB);
    if (db >= 0) {
      attrs.put(DB_NAMESPACE, Long.toString(db));
    }
    long addrLen = r.getLong(ADDR_LEN);
    if (addrLen > 0) {
      byte[] b = new byte[(int) Math.min(addrLen, ADDR_CAP)];
      r.get(ADDR, b);
      String addr = new String(b, StandardCharsets.UTF_8);
      int colon = addr.lastIndexOf(':');
      String host = colon >= 0 ? addr.substring(0, colon) : addr;
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      if (!host.isEmpty()) {
        attrs.put(SERVER_ADDRESS, host);
      }
      if (colon >= 0) {
        try {
          attrs.put(SERVER_PORT, Long.parseLong(addr.substring(colon + 1)));
        } catch (NumberFormatException e) {
          // not host:port (a unix socket path): no port
        }
      }
    }
    int kind = r.get(KIND);
    long count = r.getLong(CMD_COUNT);
    List<String> commands = new ArrayList<>();
    for (int i = 0; i < MAX_CMDS && i < count; i++) {
      String name = name(r, i);
      long args = r.getLong(ARG_COUNTS + 8 * i);
      StringBuilder text = new StringBuilder(name == null ? "?" : name);
      for (long a = 1; a < args; a++) {
        text.append(" ?");
      }
      commands.add(text.toString());
    }
    String operation;
    if (kind == KIND_COMMAND) {
      operation = name(r, 0);
    } else {
      operation = kind == KIND_TRANSACTION ? "MULTI" : "PIPELINE";
      if (count >= 0) {
        attrs.put(DB_OPERATION_BATCH_SIZE, count);
      }
    }
    if (operation != null) {
      attrs.put(DB_OPERATION_NAME, operation);
    }
    if (!commands.isEmpty() && QueryTextMode.of(sink.process()) != QueryTextMode.OFF) {
      String text = String.join("; ", commands);
      attrs.put(DB_QUERY_TEXT, count > MAX_CMDS ? text + "; ..." : text);
    }
    String error = null;
    long errorType = r.getLong(RedisEventLayout.ERROR_TYPE);
    if (errorType != 0 && r.get(NIL_REPLY) == 0) {
      error = sink.process().goTypeName(errorType).orElse("_OTHER");
      attrs.put(ERROR_TYPE, error);
    }
    String spanName = operation != null ? operation : SYSTEM;
    ProbeSpan.Builder span = ProbeSpan.builder(spanName, SCOPE)
        .kind(SpanKind.CLIENT)
        .timestamps(r.getLong(START_NS), r.getLong(END_NS))
        .attributes(attrs.build())
        .status(error != null ? StatusCode.ERROR : StatusCode.UNSET, "");
    TraceRecord.apply(r, TRACE, span);
    ProbeSpan built = span.build();
    sink.span(built);
    AttributesBuilder m = Attributes.builder().put(DB_SYSTEM_NAME, SYSTEM);
    for (AttributeKey<String> k : List.of(DB_NAMESPACE, DB_OPERATION_NAME, SERVER_ADDRESS, ERROR_TYPE)) {
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

  /** The i-th command's name in upper case, or null when unreadable or not a plain word. */
  private static String name(ByteBuffer r, int i) {
    long len = r.getLong(NAME_LENS + 8 * i);
    if (len <= 0 || len > NAME_CAP) {
      return null;
    }
    byte[] b = new byte[(int) len];
    r.get(NAMES + NAME_CAP * i, b);
    String s = new String(b, StandardCharsets.US_ASCII);
    return s.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.')
        ? s.toUpperCase(Locale.ROOT) : null;
  }
}
