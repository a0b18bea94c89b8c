package io.goscope.examples.orders;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TraceRecord;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Decodes {@code struct orders_order_event} ({@code src/main/bpf/orders_event.h}, whose offsets the constants below
 * mirror) into one INTERNAL span named {@value #SPAN_NAME}: {@code order.id} (the call's argument),
 * {@code order.query} (the URL's raw query, when its offset was known) and {@code probe.cookie} (the uprobe's BPF
 * cookie, as the program saw it). Pure and stateless.
 */
public final class OrderEventDecoder implements RecordDecoder {
  /** Instrumentation scope of the spans. */
  public static final String SCOPE = "io.goscope.examples.orders";
  /** Name of the spans. */
  public static final String SPAN_NAME = "processOrder";

  static final AttributeKey<Long> ORDER_ID = AttributeKey.longKey("order.id");
  static final AttributeKey<String> ORDER_QUERY = AttributeKey.stringKey("order.query");
  static final AttributeKey<Long> PROBE_COOKIE = AttributeKey.longKey("probe.cookie");

  // struct orders_order_event (ORDERS_RECORD_ORDER)
  static final int TYPE_ORDER = 1;
  static final int START_NS = 8;
  static final int END_NS = 16;
  static final int TRACE = 24;
  static final int ORDER_ID_AT = 64;
  static final int QUERY_LEN = 72;
  static final int COOKIE = 80;
  static final int QUERY = 88;
  static final int QUERY_CAP = 64;
  static final int SIZE = 152;

  @Override
  public void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink) {
    if (header.type() != TYPE_ORDER) {
      throw new RecordFormatException("decode orders record pid=" + header.pid() + ": unknown record type "
          + header.type());
    }
    if (record.remaining() < SIZE) {
      throw new RecordFormatException("decode orders record pid=" + header.pid() + ": record has "
          + record.remaining() + " bytes, needs " + SIZE);
    }
    ByteBuffer r = record.slice(record.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    AttributesBuilder attrs = Attributes.builder()
        .put(ORDER_ID, r.getLong(ORDER_ID_AT))
        .put(PROBE_COOKIE, Integer.toUnsignedLong(r.getInt(COOKIE)));
    long queryLen = r.getLong(QUERY_LEN);
    if (queryLen >= 0) {
      byte[] query = new byte[(int) Math.min(queryLen, QUERY_CAP)];
      r.get(QUERY, query);
      attrs.put(ORDER_QUERY, new String(query, StandardCharsets.UTF_8));
    }
    ProbeSpan.Builder span = ProbeSpan.builder(SPAN_NAME, SCOPE)
        .kind(SpanKind.INTERNAL)
        .timestamps(r.getLong(START_NS), r.getLong(END_NS))
        .attributes(attrs.build());
    TraceRecord.apply(r, TRACE, span);
    sink.span(span.build());
  }
}
