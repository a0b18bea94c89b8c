package io.goscope.plugins.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TracedProcess;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The grpc-go records decoded from byte fixtures laid out as grpc_event.h says, no kernel. */
class GrpcEventDecoderTest {
  private static final int PID = 4242;

  /** A sink that keeps what it gets and answers type names from a map. */
  static final class Recording implements TelemetrySink {
    final List<ProbeSpan> spans = new ArrayList<>();
    final List<Object[]> points = new ArrayList<>();
    final Map<Long, String> types;

    Recording(Map<Long, String> types) {
      this.types = types;
    }

    @Override
    public void span(ProbeSpan span) {
      spans.add(span);
    }

    @Override
    public void histogram(HistogramInstrument instrument, double value, Attributes attributes) {
      points.add(new Object[] {instrument, value, attributes});
    }

    @Override
    public TracedProcess process() {
      return new TracedProcess() {
        @Override
        public int pid() {
          return PID;
        }

        @Override
        public String option(String key, String defaultValue) {
          return defaultValue;
        }

        @Override
        public Optional<String> goTypeName(long typeAddress) {
          return Optional.ofNullable(types.get(typeAddress));
        }
      };
    }
  }

  private static ByteBuffer record(int type, int size) {
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 7).putShort(2, (short) type).putInt(4, PID);
    b.putLong(8, 1_000_000L).putLong(16, 3_000_000L);
    for (int i = 0; i < 16; i++) {
      b.put(24 + i, (byte) (0xa0 + i));
    }
    for (int i = 0; i < 8; i++) {
      b.put(40 + i, (byte) (0x10 + i));
    }
    b.put(56, (byte) 1); // sampled
    return b;
  }

  private static void string(ByteBuffer b, int at, int lenAt, int cap, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    b.putLong(lenAt, bytes.length);
    b.put(at, bytes, 0, Math.min(cap, bytes.length));
  }

  private static void addr(ByteBuffer b, int at, long type, byte[] ip, int port) {
    b.putLong(at + GrpcEventLayout.Addr.TYPE_ADDR, type);
    b.putLong(at + GrpcEventLayout.Addr.PORT, port);
    b.putLong(at + GrpcEventLayout.Addr.IP_LEN, ip == null ? -1 : ip.length);
    if (ip != null) {
      b.put(at + GrpcEventLayout.Addr.IP, ip);
    }
  }

  static ByteBuffer server(String method, long status) {
    ByteBuffer b = record(GrpcEventLayout.Server.TYPE, GrpcEventLayout.Server.SIZE);
    b.putLong(GrpcEventLayout.Server.STATUS, status);
    b.putLong(GrpcEventLayout.Server.TRANSPORT_TYPE, 0x100);
    string(b, GrpcEventLayout.Server.METHOD, GrpcEventLayout.Server.METHOD_LEN, GrpcEventLayout.Server.METHOD_CAP,
        method);
    addr(b, GrpcEventLayout.Server.PEER, 0x200, new byte[] {127, 0, 0, 1}, 54321);
    addr(b, GrpcEventLayout.Server.LOCAL, 0x200, new byte[] {127, 0, 0, 1}, 50051);
    return b;
  }

  static ByteBuffer client(String method, String target) {
    ByteBuffer b = record(GrpcEventLayout.Client.TYPE, GrpcEventLayout.Client.SIZE);
    b.putLong(GrpcEventLayout.Client.ERROR_CODE, -1);
    b.putLong(GrpcEventLayout.Client.ERROR_TEXT_LEN, -1);
    string(b, GrpcEventLayout.Client.METHOD, GrpcEventLayout.Client.METHOD_LEN, GrpcEventLayout.Client.METHOD_CAP,
        method);
    string(b, GrpcEventLayout.Client.TARGET, GrpcEventLayout.Client.TARGET_LEN, GrpcEventLayout.Client.TARGET_CAP,
        target);
    return b;
  }

  private static Recording decode(ByteBuffer b, Map<Long, String> types) {
    Recording sink = new Recording(types);
    new GrpcEventDecoder().decode(b, RecordHeader.peek(b), sink);
    return sink;
  }

  private static final Map<Long, String> TYPES = Map.of(0x100L, "*transport.http2Server", 0x200L, "*net.TCPAddr",
      0x300L, "*status.Error", 0x400L, "*errors.errorString", 0x500L, "*net.OpError");

  private static <T> T attr(ProbeSpan s, String key, Class<T> type) {
    Object v = s.attributes().asMap().entrySet().stream().filter(e -> e.getKey().getKey().equals(key))
        .map(Map.Entry::getValue).findFirst().orElse(null);
    return type.cast(v);
  }

  @Test
  void serverSpanOfAnOkUnaryCall() {
    Recording r = decode(server("/goscope.test.Echo/Unary", 0), TYPES);
    ProbeSpan s = r.spans.get(0);
    assertEquals("goscope.test.Echo/Unary", s.name());
    assertEquals(SpanKind.SERVER, s.kind());
    assertEquals(GrpcEventDecoder.SCHEMA_URL, s.schemaUrl());
    assertEquals("https://opentelemetry.io/schemas/1.44.0", s.schemaUrl());
    assertEquals(StatusCode.UNSET, s.status());
    assertEquals(Attributes.builder()
        .put("rpc.system.name", "grpc")
        .put("rpc.method", "goscope.test.Echo/Unary")
        .put("rpc.response.status_code", "OK")
        .put("server.address", "127.0.0.1")
        .put("server.port", 50051L)
        .put("network.peer.address", "127.0.0.1")
        .put("network.peer.port", 54321L)
        .put("network.type", "ipv4")
        .put("network.transport", "tcp")
        .put("network.protocol.name", "http")
        .put("network.protocol.version", "2")
        .build().asMap(), s.attributes().asMap());
    assertEquals("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", s.traceId());
    assertEquals(2_000_000L, s.endKtimeNanos() - s.startKtimeNanos());
    assertEquals(1, r.points.size());
    assertEquals(GrpcMetrics.SERVER_DURATION, r.points.get(0)[0]);
    assertEquals(0.002, (double) r.points.get(0)[1], 1e-12);
    assertEquals(Attributes.builder().put("rpc.system.name", "grpc").put("rpc.method", "goscope.test.Echo/Unary")
        .put("rpc.response.status_code", "OK").build(), r.points.get(0)[2]);
  }

  @Test
  void serverStatusFollowsTheServerTable() {
    for (int code = 0; code <= 16; code++) {
      ProbeSpan s = decode(server("/p.S/M", code), TYPES).spans.get(0);
      String name = GrpcEventDecoder.CODES.get(code);
      boolean error = List.of(2, 4, 12, 13, 14, 15).contains(code);
      assertEquals(error ? StatusCode.ERROR : StatusCode.UNSET, s.status(), name);
      assertEquals(name, attr(s, "rpc.response.status_code", String.class));
      assertEquals(error ? name : null, attr(s, "error.type", String.class), name);
    }
    ProbeSpan notFound = decode(server("/p.S/M", 5), TYPES).spans.get(0);
    assertEquals(StatusCode.UNSET, notFound.status(), "NOT_FOUND is the client's problem");
  }

  @Test
  void unimplementedMethodIsOther() {
    Recording r = decode(server("/no.Such/Thing", 12), TYPES);
    ProbeSpan s = r.spans.get(0);
    assertEquals("grpc", s.name());
    assertEquals("_OTHER", attr(s, "rpc.method", String.class));
    assertEquals("no.Such/Thing", attr(s, "rpc.method_original", String.class));
    Attributes metric = (Attributes) r.points.get(0)[2];
    assertEquals("_OTHER", metric.get(AttributeKey.stringKey("rpc.method")));
    assertNull(metric.get(AttributeKey.stringKey("rpc.method_original")), "unbounded: span only");
  }

  @Test
  void unknownStatusAndUnreadableMethod() {
    ByteBuffer b = server("/p.S/M", -1);
    b.putLong(GrpcEventLayout.Server.METHOD_LEN, -1);
    ProbeSpan s = decode(b, TYPES).spans.get(0);
    assertEquals("grpc", s.name());
    assertNull(attr(s, "rpc.response.status_code", String.class));
    assertEquals(StatusCode.UNSET, s.status());
  }

  @Test
  void addressesOnlyFromTcpAddrsOfTheHttp2Transport() {
    ByteBuffer v6 = server("/p.S/M", 0);
    byte[] loop6 = new byte[16];
    loop6[15] = 1;
    addr(v6, GrpcEventLayout.Server.PEER, 0x200, loop6, 40000);
    ProbeSpan s = decode(v6, TYPES).spans.get(0);
    assertEquals("::1", attr(s, "network.peer.address", String.class));
    assertEquals("ipv6", attr(s, "network.type", String.class));

    ByteBuffer unix = server("/p.S/M", 0);
    addr(unix, GrpcEventLayout.Server.PEER, 0x999, new byte[] {1, 2, 3, 4}, 1);
    assertNull(attr(decode(unix, Map.of(0x100L, "*transport.http2Server", 0x999L, "*net.UnixAddr")).spans.get(0),
        "network.peer.address", String.class), "not a TCPAddr");

    ByteBuffer handler = server("/p.S/M", 0);
    handler.putLong(GrpcEventLayout.Server.TRANSPORT_TYPE, 0x777);
    assertNull(attr(decode(handler, Map.of(0x777L, "*transport.serverHandlerTransport")).spans.get(0),
        "server.address", String.class), "the net/http transport's fields are not read as the HTTP/2 server's");

    ByteBuffer bad = server("/p.S/M", 0);
    addr(bad, GrpcEventLayout.Server.LOCAL, 0x200, null, 0);
    assertNull(attr(decode(bad, TYPES).spans.get(0), "server.address", String.class));
    // Type names unknown (the host cannot tell): the probe's checks of the values stand.
    assertEquals("127.0.0.1", attr(decode(server("/p.S/M", 0), Map.of()).spans.get(0), "server.address",
        String.class));
  }

  @Test
  void ipv6Compression() {
    assertEquals("::1", GrpcEventDecoder.compressIpv6("0:0:0:0:0:0:0:1"));
    assertEquals("fe80::1:2", GrpcEventDecoder.compressIpv6("fe80:0:0:0:0:0:1:2"));
    assertEquals("1:0:2:0:3:0:4:5", GrpcEventDecoder.compressIpv6("1:0:2:0:3:0:4:5"));
    assertEquals("1::", GrpcEventDecoder.compressIpv6("1:0:0:0:0:0:0:0"));
  }

  @Test
  void incomingTraceStateJoinsItsServerSpan() {
    GrpcEventDecoder d = new GrpcEventDecoder();
    Recording sink = new Recording(TYPES);
    ByteBuffer ts = ByteBuffer.allocate(GrpcEventLayout.TraceState.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    ts.putShort(2, (short) GrpcEventLayout.TraceState.TYPE).putInt(4, PID);
    byte[] parent = {0, (byte) 0xf0, 0x67, (byte) 0xaa, 0x0b, (byte) 0xa9, 0x02, (byte) 0xb7};
    ts.put(GrpcEventLayout.TraceState.PARENT_SPAN_ID, parent);
    string(ts, GrpcEventLayout.TraceState.VALUE, GrpcEventLayout.TraceState.LEN, 256, "congo=t61rcWkgMzE");
    d.decode(ts, RecordHeader.peek(ts), sink);
    ByteBuffer s = server("/p.S/M", 0);
    s.put(48, parent).put(57, (byte) 1); // parent span id, parent remote
    d.decode(s, RecordHeader.peek(s), sink);
    assertEquals("00f067aa0ba902b7", sink.spans.get(0).parentSpanId());
    assertTrue(sink.spans.get(0).parentRemote());
    assertEquals("congo=t61rcWkgMzE", sink.spans.get(0).traceState());
  }

  @Test
  void clientSpanOfAnOkCall() {
    Recording r = decode(client("/goscope.test.Echo/Unary", "127.0.0.1:50051"), TYPES);
    ProbeSpan s = r.spans.get(0);
    assertEquals("goscope.test.Echo/Unary", s.name());
    assertEquals(SpanKind.CLIENT, s.kind());
    assertEquals(StatusCode.UNSET, s.status());
    assertEquals(Attributes.builder()
        .put("rpc.system.name", "grpc")
        .put("rpc.method", "goscope.test.Echo/Unary")
        .put("rpc.response.status_code", "OK")
        .put("server.address", "127.0.0.1")
        .put("server.port", 50051L)
        .build().asMap(), s.attributes().asMap());
    assertEquals(GrpcMetrics.CLIENT_DURATION, r.points.get(0)[0]);
    assertEquals(s.attributes(), r.points.get(0)[2]);
  }

  @Test
  void clientErrorCodes() {
    ByteBuffer notFound = client("/p.S/M", "dns:///svc.example:443");
    notFound.putLong(GrpcEventLayout.Client.ERROR_TYPE, 0x300).putLong(GrpcEventLayout.Client.ERROR_CODE, 5);
    ProbeSpan s = decode(notFound, TYPES).spans.get(0);
    assertEquals(StatusCode.ERROR, s.status(), "every code but OK is a client error");
    assertEquals("NOT_FOUND", attr(s, "rpc.response.status_code", String.class));
    assertEquals("NOT_FOUND", attr(s, "error.type", String.class));
    assertEquals("svc.example", attr(s, "server.address", String.class));
    assertEquals(443L, attr(s, "server.port", Long.class));
    // The type cannot be told: a code the probe checked is taken.
    assertEquals("DEADLINE_EXCEEDED", attr(decode(code(4, 0x300), Map.of()).spans.get(0),
        "rpc.response.status_code", String.class));
    // Not a status error: UNKNOWN, as status.Code says.
    assertEquals("UNKNOWN", attr(decode(code(4, 0x500), TYPES).spans.get(0), "rpc.response.status_code",
        String.class));
    assertEquals("UNKNOWN", attr(decode(code(-1, 0x300), TYPES).spans.get(0), "rpc.response.status_code",
        String.class), "code unreadable");
  }

  private static ByteBuffer code(long code, long type) {
    ByteBuffer b = client("/p.S/M", "localhost:1");
    b.putLong(GrpcEventLayout.Client.ERROR_TYPE, type).putLong(GrpcEventLayout.Client.ERROR_CODE, code);
    return b;
  }

  @Test
  void aStreamReadToItsEndIsOk() {
    ByteBuffer eof = client("/p.S/Bidi", "localhost:1");
    eof.put(GrpcEventLayout.Client.STREAM, (byte) 1);
    eof.putLong(GrpcEventLayout.Client.ERROR_TYPE, 0x400);
    string(eof, GrpcEventLayout.Client.ERROR_TEXT, GrpcEventLayout.Client.ERROR_TEXT_LEN, 16, "EOF");
    ProbeSpan s = decode(eof, TYPES).spans.get(0);
    assertEquals("OK", attr(s, "rpc.response.status_code", String.class));
    assertEquals(StatusCode.UNSET, s.status());
  }

  @Test
  void targets() {
    assertEquals(new ServerAddress("grpc.io", 50051), ServerAddress.ofTarget("grpc.io:50051"));
    assertEquals(new ServerAddress("grpc.io", 50051), ServerAddress.ofTarget("dns://1.2.3.4/grpc.io:50051"));
    assertEquals(new ServerAddress("grpc.io", 50051), ServerAddress.ofTarget("dns:///grpc.io:50051"));
    assertEquals(new ServerAddress("grpc.io", 0), ServerAddress.ofTarget("dns:grpc.io"));
    assertEquals(new ServerAddress("127.0.0.1", 8080), ServerAddress.ofTarget("passthrough:///127.0.0.1:8080"));
    assertEquals(new ServerAddress("::1", 50051), ServerAddress.ofTarget("[::1]:50051"));
    assertEquals(new ServerAddress("/run/containerd/containerd.sock", 0),
        ServerAddress.ofTarget("unix:///run/containerd/containerd.sock"));
    assertEquals(new ServerAddress("relative.sock", 0), ServerAddress.ofTarget("unix:relative.sock"));
    assertEquals(new ServerAddress("zk://zookeeper:2181/my-server", 0),
        ServerAddress.ofTarget("zk://zookeeper:2181/my-server"));
    assertEquals(new ServerAddress("ipv4:198.51.100.123:50051,198.51.100.124:50051", 0),
        ServerAddress.ofTarget("ipv4:198.51.100.123:50051,198.51.100.124:50051"));
    assertEquals(new ServerAddress("localhost", 0), ServerAddress.ofTarget("localhost"));
  }

  @Test
  void shortOrUnknownRecordsAreRejected() {
    ByteBuffer shortOne = ByteBuffer.allocate(100).order(ByteOrder.LITTLE_ENDIAN);
    shortOne.putShort(2, (short) GrpcEventLayout.Server.TYPE);
    assertThrows(RecordFormatException.class, () -> decode(shortOne, TYPES));
    ByteBuffer unknown = ByteBuffer.allocate(400).order(ByteOrder.LITTLE_ENDIAN);
    unknown.putShort(2, (short) 9);
    assertThrows(RecordFormatException.class, () -> decode(unknown, TYPES));
  }
}
