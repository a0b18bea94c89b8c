package io.goscope.plugins.nethttp;

import io.goscope.api.RecordHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds {@code struct nethttp_event} byte records the way the BPF return program fills them. */
final class EventFixture {
  static final int SOURCE = 3;
  static final int PID = 4242;

  private int type = NetHttpEventLayout.RECORD_TYPE_SERVER;
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

  RecordHeader header() {
    return new RecordHeader(SOURCE, type, PID);
  }

  ByteBuffer build() {
    ByteBuffer b = ByteBuffer.allocate(NetHttpEventLayout.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) SOURCE).putShort(2, (short) type).putInt(4, PID);
    b.putLong(NetHttpEventLayout.START_NS, startNs).putLong(NetHttpEventLayout.END_NS, endNs);
    b.put(NetHttpEventLayout.TRACE_ID, traceId).put(NetHttpEventLayout.SPAN_ID, spanId);
    b.putLong(NetHttpEventLayout.STATUS, status);
    b.put(NetHttpEventLayout.TLS, (byte) (tls ? 1 : 0));
    putString(b, NetHttpEventLayout.METHOD, NetHttpEventLayout.METHOD_LEN, NetHttpEventLayout.METHOD_CAP,
        method);
    putString(b, NetHttpEventLayout.PATH, NetHttpEventLayout.PATH_LEN, NetHttpEventLayout.PATH_CAP, path);
    if (pathLen >= 0) {
      b.putLong(NetHttpEventLayout.PATH_LEN, pathLen);
    }
    putString(b, NetHttpEventLayout.PROTO, NetHttpEventLayout.PROTO_LEN, NetHttpEventLayout.PROTO_CAP, proto);
    putString(b, NetHttpEventLayout.HOST, NetHttpEventLayout.HOST_LEN, NetHttpEventLayout.HOST_CAP, host);
    putString(b, NetHttpEventLayout.REMOTE_ADDR, NetHttpEventLayout.REMOTE_ADDR_LEN,
        NetHttpEventLayout.REMOTE_ADDR_CAP, remoteAddr);
    return b;
  }

  private static void putString(ByteBuffer b, int offset, int lenOffset, int cap, String value) {
    if (value == null) {
      b.putLong(lenOffset, -1);
      return;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    b.putLong(lenOffset, bytes.length);
    b.put(offset, bytes, 0, Math.min(bytes.length, cap));
  }
}
