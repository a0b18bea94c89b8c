package io.goscope.plugins.nethttp;

import io.goscope.api.RecordHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds {@code struct nethttp_server_event} byte records the way the BPF return program fills them. */
final class EventFixture {
  static final int SOURCE = 3;
  static final int PID = 4242;

  private int type = NetHttpEventLayout.Server.TYPE;
  private long startNs = 1_000_000L;
  private long endNs = 1_250_000L;
  private long status = 200;
  private boolean tls;
  private final byte[] traceId = new byte[16];
  private final byte[] spanId = new byte[8];
  private String method = "GET";
  private String path = "/hello";
  private long pathLen = -2; // -2: the real length
  private String proto = "HTTP/1.1";
  private String host = "127.0.0.1:8080";
  private String remoteAddr = "127.0.0.1:54321";
  private String route;
  private final byte[] parentSpanId = new byte[8];
  private byte flags = 1;
  private boolean parentRemote;

  EventFixture() {
    for (int i = 0; i < traceId.length; i++) {
      traceId[i] = (byte) (0xa0 + i);
    }
    for (int i = 0; i < spanId.length; i++) {
      spanId[i] = (byte) (0x10 + i);
    }
  }

  EventFixture type(int type) {
    this.type = type;
    return this;
  }

  EventFixture times(long startNs, long endNs) {
    this.startNs = startNs;
    this.endNs = endNs;
    return this;
  }

  EventFixture status(long status) {
    this.status = status;
    return this;
  }

  EventFixture tls(boolean tls) {
    this.tls = tls;
    return this;
  }

  /** null = unreadable (length -1). */
  EventFixture method(String method) {
    this.method = method;
    return this;
  }

  EventFixture path(String path) {
    this.path = path;
    return this;
  }

  /** A path of which only the first bytes fit, with the real Go length. */
  EventFixture truncatedPath(String fullPath) {
    this.path = fullPath;
    this.pathLen = fullPath.length();
    return this;
  }

  EventFixture proto(String proto) {
    this.proto = proto;
    return this;
  }

  EventFixture host(String host) {
    this.host = host;
    return this;
  }

  EventFixture remoteAddr(String remoteAddr) {
    this.remoteAddr = remoteAddr;
    return this;
  }

  /** The matched ServeMux pattern; null = none matched. */
  EventFixture route(String route) {
    this.route = route;
    return this;
  }

  /** A parent span id (remote: it came with the request). */
  EventFixture parent(byte[] spanId, boolean remote) {
    System.arraycopy(spanId, 0, parentSpanId, 0, 8);
    this.parentRemote = remote;
    return this;
  }

  EventFixture sampled(boolean sampled) {
    this.flags = (byte) (sampled ? 1 : 0);
    return this;
  }

  RecordHeader header() {
    return new RecordHeader(SOURCE, type, PID);
  }

  ByteBuffer build() {
    ByteBuffer b = ByteBuffer.allocate(NetHttpEventLayout.Server.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) SOURCE).putShort(2, (short) type).putInt(4, PID);
    b.putLong(NetHttpEventLayout.Server.START_NS, startNs).putLong(NetHttpEventLayout.Server.END_NS, endNs);
    putTrace(b, NetHttpEventLayout.Server.TRACE, traceId, spanId, parentSpanId, flags, parentRemote);
    b.putLong(NetHttpEventLayout.Server.STATUS, status);
    b.put(NetHttpEventLayout.Server.TLS, (byte) (tls ? 1 : 0));
    putString(b, NetHttpEventLayout.Server.METHOD, NetHttpEventLayout.Server.METHOD_LEN,
        NetHttpEventLayout.Server.METHOD_CAP, method);
    putString(b, NetHttpEventLayout.Server.PATH, NetHttpEventLayout.Server.PATH_LEN,
        NetHttpEventLayout.Server.PATH_CAP, path);
    if (pathLen >= 0) {
      b.putLong(NetHttpEventLayout.Server.PATH_LEN, pathLen);
    }
    putString(b, NetHttpEventLayout.Server.PROTO, NetHttpEventLayout.Server.PROTO_LEN,
        NetHttpEventLayout.Server.PROTO_CAP, proto);
    putString(b, NetHttpEventLayout.Server.HOST, NetHttpEventLayout.Server.HOST_LEN,
        NetHttpEventLayout.Server.HOST_CAP, host);
    putString(b, NetHttpEventLayout.Server.REMOTE_ADDR, NetHttpEventLayout.Server.REMOTE_ADDR_LEN,
        NetHttpEventLayout.Server.REMOTE_ADDR_CAP, remoteAddr);
    putString(b, NetHttpEventLayout.Server.ROUTE, NetHttpEventLayout.Server.ROUTE_LEN,
        NetHttpEventLayout.Server.ROUTE_CAP, route);
    return b;
  }

  /** struct gs_trace at {@code offset}. */
  static void putTrace(ByteBuffer b, int offset, byte[] traceId, byte[] spanId, byte[] parent, byte flags,
      boolean remote) {
    b.put(offset, traceId).put(offset + 16, spanId).put(offset + 24, parent);
    b.put(offset + 32, flags).put(offset + 33, (byte) (remote ? 1 : 0));
  }

  /** A tracestate record for the span whose parent is {@code parentSpanId}. */
  static ByteBuffer traceState(byte[] parentSpanId, String value) {
    ByteBuffer b = ByteBuffer.allocate(NetHttpEventLayout.TraceState.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) SOURCE).putShort(2, (short) NetHttpEventLayout.TraceState.TYPE).putInt(4, PID);
    b.put(NetHttpEventLayout.TraceState.PARENT_SPAN_ID, parentSpanId);
    byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
    b.putLong(NetHttpEventLayout.TraceState.LEN, bytes.length);
    b.put(NetHttpEventLayout.TraceState.VALUE, bytes, 0, Math.min(bytes.length,
        NetHttpEventLayout.TraceState.VALUE_CAP));
    return b;
  }

  static void putString(ByteBuffer b, int offset, int lenOffset, int cap, String value) {
    if (value == null) {
      b.putLong(lenOffset, -1);
      return;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    b.putLong(lenOffset, bytes.length);
    b.put(offset, bytes, 0, Math.min(bytes.length, cap));
  }
}
