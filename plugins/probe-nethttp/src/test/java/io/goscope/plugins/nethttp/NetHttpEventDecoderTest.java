package io.goscope.plugins.nethttp;

import static io.goscope.plugins.nethttp.NetHttpEventDecoder.CLIENT_ADDRESS;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.CLIENT_PORT;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.HTTP_REQUEST_METHOD;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.HTTP_REQUEST_METHOD_ORIGINAL;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.SERVER_ADDRESS;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.SERVER_PORT;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.URL_PATH;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.URL_SCHEME;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NetHttpEventDecoderTest {
  private final NetHttpEventDecoder decoder = new NetHttpEventDecoder();

  private ProbeSpan decode(EventFixture f) {
    List<ProbeSpan> spans = new ArrayList<>();
    decoder.decode(f.build(), f.header(), spans::add);
    assertEquals(1, spans.size());
    return spans.get(0);
  }

  @Test
  void ok200() {
    ProbeSpan s = decode(new EventFixture().times(5_000, 7_500));
    assertEquals("GET", s.name());
    assertEquals(SpanKind.SERVER, s.kind());
    assertEquals("io.goscope.nethttp", s.scope());
    assertEquals(5_000, s.startKtimeNanos());
    assertEquals(7_500, s.endKtimeNanos());
    assertEquals("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", s.traceId());
    assertEquals("1011121314151617", s.spanId());
    assertEquals("0000000000000000", s.parentSpanId());
    assertEquals(StatusCode.UNSET, s.status());
    assertEquals(
        Attributes.builder()
            .put(HTTP_REQUEST_METHOD, "GET")
            .put(URL_PATH, "/hello")
            .put(URL_SCHEME, "http")
            .put(HTTP_RESPONSE_STATUS_CODE, 200L)
            .put(SERVER_ADDRESS, "127.0.0.1")
            .put(SERVER_PORT, 8080L)
            .put(NETWORK_PROTOCOL_VERSION, "1.1")
            .put(CLIENT_ADDRESS, "127.0.0.1")
            .put(CLIENT_PORT, 54321L)
            .build()
            .asMap(),
        s.attributes().asMap());
  }

  @Test
  void noHeaderWrittenMeans200() {
    ProbeSpan s = decode(new EventFixture().status(0));
    assertEquals(200L, s.attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals(StatusCode.UNSET, s.status());
  }

  @Test
  void notFoundIsNotAnErrorForServers() {
    ProbeSpan s = decode(new EventFixture().status(404));
    assertEquals(404L, s.attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals(StatusCode.UNSET, s.status());
  }

  @Test
  void serverErrorIsError() {
    ProbeSpan s = decode(new EventFixture().method("DELETE").status(500));
    assertEquals("DELETE", s.name());
    assertEquals(500L, s.attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals(StatusCode.ERROR, s.status());
    assertEquals("", s.statusDescription());
  }

  @Test
  void unknownStatusSetsNoStatusCode() {
    ProbeSpan s = decode(new EventFixture().status(-1).proto("HTTP/2.0"));
    assertNull(s.attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals(StatusCode.UNSET, s.status());
    assertEquals("2", s.attributes().get(NETWORK_PROTOCOL_VERSION));
  }

  /** A value net/http's WriteHeader would have refused is not a status (e.g. a pointer read from the wrong writer). */
  @Test
  void impossibleStatusSetsNoStatusCode() {
    for (long raw : new long[] {824636719968L, 1000, 99, 1, -2}) {
      ProbeSpan s = decode(new EventFixture().status(raw).proto("HTTP/2.0"));
      assertNull(s.attributes().get(HTTP_RESPONSE_STATUS_CODE), "raw " + raw);
      assertEquals(StatusCode.UNSET, s.status(), "raw " + raw);
    }
    assertEquals(100L, decode(new EventFixture().status(100)).attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals(999L, decode(new EventFixture().status(999)).attributes().get(HTTP_RESPONSE_STATUS_CODE));
  }

  @Test
  void unknownMethodIsOther() {
    ProbeSpan s = decode(new EventFixture().method("FOOBAR"));
    assertEquals("HTTP", s.name());
    assertEquals("_OTHER", s.attributes().get(HTTP_REQUEST_METHOD));
    assertEquals("FOOBAR", s.attributes().get(HTTP_REQUEST_METHOD_ORIGINAL));
  }

  @Test
  void methodsAreCaseSensitive() {
    ProbeSpan s = decode(new EventFixture().method("get"));
    assertEquals("HTTP", s.name());
    assertEquals("_OTHER", s.attributes().get(HTTP_REQUEST_METHOD));
    assertEquals("get", s.attributes().get(HTTP_REQUEST_METHOD_ORIGINAL));
  }

  @Test
  void knownMethodHasNoOriginal() {
    ProbeSpan s = decode(new EventFixture().method("PATCH"));
    assertEquals("PATCH", s.name());
    assertNull(s.attributes().get(HTTP_REQUEST_METHOD_ORIGINAL));
  }

  @Test
  void ipv6RemoteAndHost() {
    ProbeSpan s = decode(new EventFixture().remoteAddr("[::1]:1234").host("[::1]:8443").tls(true));
    assertEquals("::1", s.attributes().get(CLIENT_ADDRESS));
    assertEquals(1234L, s.attributes().get(CLIENT_PORT));
    assertEquals("::1", s.attributes().get(SERVER_ADDRESS));
    assertEquals(8443L, s.attributes().get(SERVER_PORT));
  }

  @Test
  void hostWithoutPortDefaultsByScheme() {
    ProbeSpan http = decode(new EventFixture().host("example.com"));
    assertEquals("example.com", http.attributes().get(SERVER_ADDRESS));
    assertEquals(80L, http.attributes().get(SERVER_PORT));
    ProbeSpan https = decode(new EventFixture().host("example.com").tls(true));
    assertEquals(443L, https.attributes().get(SERVER_PORT));
    ProbeSpan v6 = decode(new EventFixture().host("[2001:db8::1]").tls(true));
    assertEquals("2001:db8::1", v6.attributes().get(SERVER_ADDRESS));
    assertEquals(443L, v6.attributes().get(SERVER_PORT));
  }

  @Test
  void httpsScheme() {
    ProbeSpan s = decode(new EventFixture().tls(true).proto("HTTP/2.0"));
    assertEquals("https", s.attributes().get(URL_SCHEME));
    assertEquals("2", s.attributes().get(NETWORK_PROTOCOL_VERSION));
  }

  @Test
  void truncatedPathIsUsedAsIs() {
    String full = "/" + "a".repeat(299);
    ProbeSpan s = decode(new EventFixture().truncatedPath(full));
    assertEquals(full.substring(0, NetHttpEventLayout.Server.PATH_CAP), s.attributes().get(URL_PATH));
  }

  @Test
  void unreadableStringsLeaveAttributesOut() {
    ProbeSpan s =
        decode(new EventFixture().method(null).path(null).host(null).remoteAddr(null).proto(null));
    assertEquals("HTTP", s.name());
    assertEquals("_OTHER", s.attributes().get(HTTP_REQUEST_METHOD));
    assertNull(s.attributes().get(HTTP_REQUEST_METHOD_ORIGINAL));
    assertNull(s.attributes().get(URL_PATH));
    assertNull(s.attributes().get(SERVER_ADDRESS));
    assertNull(s.attributes().get(SERVER_PORT));
    assertNull(s.attributes().get(CLIENT_ADDRESS));
    assertNull(s.attributes().get(NETWORK_PROTOCOL_VERSION));
    assertEquals("http", s.attributes().get(URL_SCHEME));
  }

  @Test
  void emptyHostIsOmitted() {
    ProbeSpan s = decode(new EventFixture().host(""));
    assertNull(s.attributes().get(SERVER_ADDRESS));
    assertNull(s.attributes().get(SERVER_PORT));
  }

  @Test
  void recordAtNonZeroPositionInALargerBuffer() {
    EventFixture f = new EventFixture().status(201);
    ByteBuffer big = ByteBuffer.allocate(NetHttpEventLayout.Server.SIZE + 24).order(ByteOrder.LITTLE_ENDIAN);
    big.position(16);
    big.put(f.build());
    big.position(16);
    List<ProbeSpan> spans = new ArrayList<>();
    decoder.decode(big, f.header(), spans::add);
    assertEquals(201L, spans.get(0).attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals(16, big.position());
  }

  @Test
  void tooShortRecordIsRejected() {
    EventFixture f = new EventFixture();
    ByteBuffer shortRecord = f.build().limit(NetHttpEventLayout.Server.SIZE - 1);
    RecordFormatException e =
        assertThrows(
            RecordFormatException.class, () -> decoder.decode(shortRecord, f.header(), s -> {}));
    assertTrue(e.getMessage().contains("479"), e.getMessage());
    assertTrue(e.getMessage().contains("pid=4242"), e.getMessage());
  }

  @Test
  void unknownTypeIsRejected() {
    EventFixture f = new EventFixture().type(9);
    RecordFormatException e =
        assertThrows(
            RecordFormatException.class,
            () -> decoder.decode(f.build(), RecordHeader.peek(f.build()), s -> {}));
    assertTrue(e.getMessage().contains("type 9"), e.getMessage());
  }

  @Test
  void routeNamesTheSpanAndReplacesNothingElse() {
    ProbeSpan s = decode(new EventFixture().path("/items/42").route("GET /items/{id}"));
    assertEquals("GET /items/{id}", s.name());
    assertEquals("/items/{id}", s.attributes().get(NetHttpEventDecoder.HTTP_ROUTE));
    assertEquals("/items/42", s.attributes().get(URL_PATH));
    assertEquals("/hello/", NetHttpEventDecoder.routeOf("/hello/"));
    assertEquals("/x", NetHttpEventDecoder.routeOf("example.com/x"));
    assertEquals("/x/{y}", NetHttpEventDecoder.routeOf("POST example.com/x/{y}"));
  }

  @Test
  void remoteParentAndItsTraceStateGoOnTheServerSpan() {
    byte[] parent = {1, 2, 3, 4, 5, 6, 7, 8};
    List<ProbeSpan> spans = new ArrayList<>();
    ByteBuffer state = EventFixture.traceState(parent, "vendor=abc,other=x\r\nuser-agent: curl");
    decoder.decode(state, RecordHeader.peek(state), spans::add);
    assertEquals(List.of(), spans, "a tracestate record is no span");
    EventFixture f = new EventFixture().parent(parent, true);
    decoder.decode(f.build(), f.header(), spans::add);
    ProbeSpan s = spans.get(0);
    assertEquals("0102030405060708", s.parentSpanId());
    assertTrue(s.parentRemote());
    assertEquals("vendor=abc,other=x", s.traceState());
    // Taken once: a later span with the same parent (a retried request) does not inherit it.
    decoder.decode(f.build(), f.header(), spans::add);
    assertEquals("", spans.get(1).traceState());
  }

  @Test
  void traceStateCutAtTheBufferIsDropped() {
    byte[] parent = {9, 9, 9, 9, 9, 9, 9, 9};
    String tooLong = "k=" + "v".repeat(400);
    ByteBuffer state = EventFixture.traceState(parent, tooLong);
    decoder.decode(state, RecordHeader.peek(state), s -> { });
    EventFixture f = new EventFixture().parent(parent, true);
    assertEquals("", decode(f).traceState());
  }

  @Test
  void unsampledFlagIsCarried() {
    assertEquals(false, decode(new EventFixture().sampled(false)).sampled());
    assertEquals(true, decode(new EventFixture()).sampled());
  }

  @Test
  void localParentIsNotRemote() {
    ProbeSpan s = decode(new EventFixture().parent(new byte[] {1, 1, 1, 1, 1, 1, 1, 1}, false));
    assertEquals("0101010101010101", s.parentSpanId());
    assertEquals(false, s.parentRemote());
  }

  @Test
  void serverErrorHasErrorType() {
    ProbeSpan s = decode(new EventFixture().status(503));
    assertEquals("503", s.attributes().get(NetHttpEventDecoder.ERROR_TYPE));
    assertEquals(StatusCode.ERROR, s.status());
  }

  @Test
  void protocolVersions() {
    assertEquals("1.1", NetHttpEventDecoder.protocolVersion("HTTP/1.1"));
    assertEquals("1.0", NetHttpEventDecoder.protocolVersion("HTTP/1.0"));
    assertEquals("2", NetHttpEventDecoder.protocolVersion("HTTP/2.0"));
    assertEquals("3", NetHttpEventDecoder.protocolVersion("HTTP/3.0"));
    assertNull(NetHttpEventDecoder.protocolVersion("HTTP/"));
    assertNull(NetHttpEventDecoder.protocolVersion("SPDY/3"));
    assertNull(NetHttpEventDecoder.protocolVersion(null));
  }
}
