package io.goscope.plugins.nethttp;

/**
 * Byte layout of {@code struct nethttp_event} in {@code src/main/bpf/nethttp_event.h}, the one record the net/http
 * probes write. This is the single Java copy of that layout; {@code NetHttpEventLayoutTest} compiles the C header
 * and checks every offset and size below against {@code offsetof}/{@code sizeof}.
 *
 * <pre>
 * Offset  Size  Field             Meaning
 *      0     8  hdr               gs_record_header {u16 source, u16 type, u32 pid}
 *      8     8  start_ns          u64 ktime at entry
 *     16     8  end_ns            u64 ktime at return
 *     24    16  trace_id          random trace id
 *     40     8  span_id           random span id
 *     48     8  parent_span_id    zero = root
 *     56     8  status            s64 http.response.status; 0 = no header written (200), -1 = unknown
 *     64     8  method_len        s64 full Go length, -1 unreadable
 *     72     8  path_len          s64 full Go length, -1 unreadable
 *     80     8  proto_len         s64 full Go length, -1 unreadable
 *     88     8  host_len          s64 full Go length, -1 unreadable
 *     96     8  remote_addr_len   s64 full Go length, -1 unreadable
 *    104     1  tls               u8, 1 if Request.TLS != nil
 *    105     7  _pad
 *    112    16  method            bytes, first min(len, 16)
 *    128   128  path              bytes, first min(len, 128)
 *    256    16  proto             bytes, first min(len, 16)
 *    272    64  host              bytes, first min(len, 64)
 *    336    64  remote_addr       bytes, first min(len, 64)
 *    400        total
 * </pre>
 */
final class NetHttpEventLayout {
  /** {@code NETHTTP_RECORD_SERVER}: the record type of a served request. */
  static final int RECORD_TYPE_SERVER = 1;

  static final int HEADER = 0;
  static final int HEADER_SIZE = 8;
  static final int START_NS = 8;
  static final int END_NS = 16;
  static final int TRACE_ID = 24;
  static final int TRACE_ID_SIZE = 16;
  static final int SPAN_ID = 40;
  static final int SPAN_ID_SIZE = 8;
  static final int PARENT_SPAN_ID = 48;
  static final int PARENT_SPAN_ID_SIZE = 8;
  static final int STATUS = 56;
  static final int METHOD_LEN = 64;
  static final int PATH_LEN = 72;
  static final int PROTO_LEN = 80;
  static final int HOST_LEN = 88;
  static final int REMOTE_ADDR_LEN = 96;
  static final int TLS = 104;
  static final int METHOD = 112;
  static final int METHOD_CAP = 16;
  static final int PATH = 128;
  static final int PATH_CAP = 128;
  static final int PROTO = 256;
  static final int PROTO_CAP = 16;
  static final int HOST = 272;
  static final int HOST_CAP = 64;
  static final int REMOTE_ADDR = 336;
  static final int REMOTE_ADDR_CAP = 64;

  /** {@code sizeof(struct nethttp_event)}. */
  static final int SIZE = 400;

  private NetHttpEventLayout() {}
}
