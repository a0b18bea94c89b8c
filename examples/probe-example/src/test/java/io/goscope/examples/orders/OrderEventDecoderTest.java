package io.goscope.examples.orders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.trace.SpanKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The decoder on byte fixtures laid out as {@code orders_event.h} says; no kernel. */
class OrderEventDecoderTest {
  private static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String SPAN_ID = "1122334455667788";
  private static final String PARENT_ID = "00f067aa0ba902b7";

  private final OrderEventDecoder decoder = new OrderEventDecoder();

  /** A record as orders_process_return writes it, at {@code position} of a larger buffer. */
  private static ByteBuffer record(int position, long orderId, long queryLen, String query, int cookie) {
    ByteBuffer b = ByteBuffer.allocate(position + OrderEventDecoder.SIZE + 16).order(ByteOrder.LITTLE_ENDIAN);
    int p = position;
    b.putShort(p, (short) 5).putShort(p + 2, (short) OrderEventDecoder.TYPE_ORDER).putInt(p + 4, 4242);
    b.putLong(p + OrderEventDecoder.START_NS, 1_000_000L).putLong(p + OrderEventDecoder.END_NS, 3_500_000L);
    HexFormat hex = HexFormat.of();
    int trace = p + OrderEventDecoder.TRACE;
    b.put(trace, hex.parseHex(TRACE_ID)).put(trace + 16, hex.parseHex(SPAN_ID))
        .put(trace + 24, hex.parseHex(PARENT_ID)).put(trace + 32, (byte) 1);
    b.putLong(p + OrderEventDecoder.ORDER_ID_AT, orderId).putLong(p + OrderEventDecoder.QUERY_LEN, queryLen);
    b.putInt(p + OrderEventDecoder.COOKIE, cookie);
    byte[] q = query.getBytes(StandardCharsets.UTF_8);
    b.put(p + OrderEventDecoder.QUERY, q, 0, Math.min(q.length, OrderEventDecoder.QUERY_CAP));
    return b.position(position);
  }

  private List<ProbeSpan> decode(ByteBuffer record) {
    List<ProbeSpan> spans = new ArrayList<>();
    decoder.decode(record, RecordHeader.peek(record), new TelemetrySink() {
      @Override
      public void span(ProbeSpan span) {
        spans.add(span);
      }
    });
    return spans;
  }

  @Test
  void oneCallIsOneInternalSpanWithTheArgumentAndTheCookie() {
    List<ProbeSpan> spans = decode(record(0, 42, 9, "item=book", 0xC0FFEE));
    assertEquals(1, spans.size());
    ProbeSpan s = spans.get(0);
    assertEquals("processOrder", s.name());
    assertEquals(OrderEventDecoder.SCOPE, s.scope());
    assertEquals(SpanKind.INTERNAL, s.kind());
    assertEquals(1_000_000L, s.startKtimeNanos());
    assertEquals(3_500_000L, s.endKtimeNanos());
    assertEquals(TRACE_ID, s.traceId());
    assertEquals(SPAN_ID, s.spanId());
    assertEquals(PARENT_ID, s.parentSpanId());
    assertEquals(true, s.sampled());
    assertEquals(42L, s.attributes().get(OrderEventDecoder.ORDER_ID));
    assertEquals("item=book", s.attributes().get(OrderEventDecoder.ORDER_QUERY));
    assertEquals(0xC0FFEEL, s.attributes().get(OrderEventDecoder.PROBE_COOKIE));
  }

  @Test
  void recordsAreReadFromTheirPositionAndTheCookieIsUnsigned() {
    ProbeSpan s = decode(record(24, -7, 0, "", 0xFFFFFFFF)).get(0);
    assertEquals(-7L, s.attributes().get(OrderEventDecoder.ORDER_ID));
    assertEquals("", s.attributes().get(OrderEventDecoder.ORDER_QUERY));
    assertEquals(0xFFFFFFFFL, s.attributes().get(OrderEventDecoder.PROBE_COOKIE));
  }

  @Test
  void aLongQueryKeepsItsCapturedBytesAndAnUnreadableOneIsLeftOut() {
    String longQuery = "q=" + "x".repeat(100);
    ProbeSpan truncated = decode(record(0, 1, longQuery.length(), longQuery, 1)).get(0);
    assertEquals(longQuery.substring(0, OrderEventDecoder.QUERY_CAP),
        truncated.attributes().get(OrderEventDecoder.ORDER_QUERY));
    ProbeSpan unknown = decode(record(0, 1, -1, "", 1)).get(0);
    assertNull(unknown.attributes().get(OrderEventDecoder.ORDER_QUERY));
  }

  @Test
  void malformedRecordsAreRejected() {
    ByteBuffer shortRecord = record(0, 1, 0, "", 1).limit(OrderEventDecoder.SIZE - 1);
    assertThrows(RecordFormatException.class, () -> decode(shortRecord));
    ByteBuffer otherType = record(0, 1, 0, "", 1);
    otherType.putShort(2, (short) 9);
    assertThrows(RecordFormatException.class, () -> decode(otherType));
  }
}
