package io.goscope.api;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The trace fields every span record of the probe-set kit carries, {@code struct gs_trace} in
 * {@code goscope_context.h} (40 bytes, little-endian):
 *
 * <pre>
 * offset size field
 *      0   16 trace_id        W3C trace id
 *     16    8 span_id         this span's id
 *     24    8 parent_span_id  parent's span id; zero for a root span
 *     32    1 trace_flags     W3C trace flags (bit 0: sampled)
 *     33    1 parent_remote   1 when the parent came in with the request (another process)
 *     34    6 _pad
 * </pre>
 */
public final class TraceRecord {
  /** Size of {@code struct gs_trace}. */
  public static final int SIZE = 40;
  public static final int TRACE_ID = 0;
  public static final int SPAN_ID = 16;
  public static final int PARENT_SPAN_ID = 24;
  public static final int TRACE_FLAGS = 32;
  public static final int PARENT_REMOTE = 33;

  private static final byte[] DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private TraceRecord() {}

  /**
   * Sets trace id, span id, parent, sampled flag and remote-parent flag on {@code span} from the
   * {@code struct gs_trace} at absolute position {@code offset} of {@code record}.
   *
   * @throws RecordFormatException when the record is too short
   */
  public static ProbeSpan.Builder apply(ByteBuffer record, int offset, ProbeSpan.Builder span) {
    if (offset < 0 || offset + SIZE > record.limit()) {
      throw new RecordFormatException("trace fields at " + offset + " exceed the record of " + record.limit()
          + " bytes");
    }
    return span.traceId(hex(record, offset + TRACE_ID, 16))
        .spanId(hex(record, offset + SPAN_ID, 8))
        .parentSpanId(hex(record, offset + PARENT_SPAN_ID, 8))
        .sampled((record.get(offset + TRACE_FLAGS) & 1) != 0)
        .parentRemote(record.get(offset + PARENT_REMOTE) != 0);
  }

  /**
   * Lower-case hex of {@code size} bytes at {@code offset}. By table, straight into the string's Latin-1 bytes: three
   * ids per record, and {@code HexFormat} took 7 % of the decode thread's time in the pipeline benchmark.
   */
  static String hex(ByteBuffer r, int offset, int size) {
    byte[] out = new byte[2 * size];
    for (int i = 0; i < size; i++) {
      int b = r.get(offset + i) & 0xff;
      out[2 * i] = DIGITS[b >>> 4];
      out[2 * i + 1] = DIGITS[b & 0xf];
    }
    return new String(out, StandardCharsets.ISO_8859_1);
  }
}
