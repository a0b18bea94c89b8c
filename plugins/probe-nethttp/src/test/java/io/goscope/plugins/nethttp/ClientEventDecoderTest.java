package io.goscope.plugins.nethttp;

import static io.goscope.plugins.nethttp.NetHttpEventDecoder.ERROR_TYPE;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.HTTP_REQUEST_METHOD;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.SERVER_ADDRESS;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.SERVER_PORT;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.URL_FULL;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.URL_SCHEME;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TracedProcess;
import io.goscope.plugins.nethttp.NetHttpEventLayout.Client;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Client records ({@code struct nethttp_client_event}) on byte fixtures. */
class ClientEventDecoderTest {
  private final NetHttpEventDecoder decoder = new NetHttpEventDecoder();
  private final List<ProbeSpan> spans = new ArrayList<>();
  private final List<Attributes> measured = new ArrayList<>();

  private final TelemetrySink sink = new TelemetrySink() {
    @Override
    public void span(ProbeSpan span) {
      spans.add(span);
    }

    @Override
    public void histogram(HistogramInstrument instrument, double value, Attributes attributes) {
      assertEquals("http.client.request.duration", instrument.name());
      measured.add(attributes);
    }

    @Override
    public TracedProcess process() {
      return new TracedProcess() {
        @Override
        public int pid() {
          return 4242;
        }

        @Override
        public String option(String key, String defaultValue) {
          return defaultValue;
        }

        @Override
        public Optional<String> goTypeName(long typeAddress) {
          return typeAddress == 0x4a1b20 ? Optional.of("*net.OpError") : Optional.empty();
        }
      };
    }
  };

  private static ByteBuffer record(String method, String scheme, String host, String path, String query,
      boolean userinfo, long status, String proto, long errorType) {
    ByteBuffer b = ByteBuffer.allocate(Client.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort(0, (short) 3).putShort(2, (short) Client.TYPE).putInt(4, 4242);
    b.putLong(Client.START_NS, 1_000).putLong(Client.END_NS, 3_000);
    byte[] trace = new byte[16];
    trace[15] = 7;
    EventFixture.putTrace(b, Client.TRACE, trace, new byte[] {1, 2, 3, 4, 5, 6, 7, 8},
        new byte[] {8, 7, 6, 5, 4, 3, 2, 1}, (byte) 1, false);
    b.putLong(Client.STATUS, status).putLong(Client.ERROR_TYPE, errorType);
    b.put(Client.USERINFO, (byte) (userinfo ? 1 : 0));
    EventFixture.putString(b, Client.METHOD, Client.METHOD_LEN, Client.METHOD_CAP, method);
    EventFixture.putString(b, Client.SCHEME, Client.SCHEME_LEN, Client.SCHEME_CAP, scheme);
    EventFixture.putString(b, Client.HOST, Client.HOST_LEN, Client.HOST_CAP, host);
    EventFixture.putString(b, Client.PATH, Client.PATH_LEN, Client.PATH_CAP, path);
    EventFixture.putString(b, Client.QUERY, Client.QUERY_LEN, Client.QUERY_CAP, query);
    EventFixture.putString(b, Client.PROTO, Client.PROTO_LEN, Client.PROTO_CAP, proto);
    return b;
  }

  private ProbeSpan decode(ByteBuffer r) {
    decoder.decode(r, RecordHeader.peek(r), sink);
    return spans.get(spans.size() - 1);
  }

  @Test
  void okCallIsAClientSpanUnderItsParent() {
    ProbeSpan s = decode(record("GET", "http", "back:8081", "/items", "", false, 200, "HTTP/1.1", 0));
    assertEquals("GET", s.name());
    assertEquals(SpanKind.CLIENT, s.kind());
    assertEquals("0807060504030201", s.parentSpanId());
    assertEquals(StatusCode.UNSET, s.status());
    assertEquals(Attributes.builder()
        .put(HTTP_REQUEST_METHOD, "GET")
        .put(URL_SCHEME, "http")
        .put(SERVER_ADDRESS, "back")
        .put(SERVER_PORT, 8081L)
        .put(URL_FULL, "http://back:8081/items")
        .put(HTTP_RESPONSE_STATUS_CODE, 200L)
        .put(NETWORK_PROTOCOL_VERSION, "1.1")
        .build().asMap(), s.attributes().asMap());
    assertEquals(1, measured.size());
    assertNull(measured.get(0).get(URL_FULL), "url.full is span-only");
    assertEquals("back", measured.get(0).get(SERVER_ADDRESS));
  }

  @Test
  void clientErrorsAreErrors() {
    ProbeSpan notFound = decode(record("GET", "https", "api.example.com", "/x", "", false, 404, "HTTP/2.0", 0));
    assertEquals(StatusCode.ERROR, notFound.status());
    assertEquals("404", notFound.attributes().get(ERROR_TYPE));
    assertEquals(443L, notFound.attributes().get(SERVER_PORT));
    assertEquals("2", notFound.attributes().get(NETWORK_PROTOCOL_VERSION));
  }

  @Test
  void transportErrorNamesTheGoErrorType() {
    ProbeSpan s = decode(record("POST", "http", "127.0.0.1:1", "/", "", false, -1, null, 0x4a1b20));
    assertEquals(StatusCode.ERROR, s.status());
    assertEquals("*net.OpError", s.attributes().get(ERROR_TYPE));
    assertNull(s.attributes().get(HTTP_RESPONSE_STATUS_CODE));
    ProbeSpan unknown = decode(record("POST", "http", "127.0.0.1:1", "/", "", false, -1, null, 1));
    assertEquals("_OTHER", unknown.attributes().get(ERROR_TYPE));
  }

  @Test
  void userInfoAndSensitiveQueryValuesAreRedacted() {
    ProbeSpan s = decode(record("GET", "https", "s3.example.com", "/bucket/key",
        "X-Amz-Date=1&Signature=secret&AWSAccessKeyId=AKIA&sig=x&X-Goog-Signature=g&q=keep", true, 200,
        "HTTP/1.1", 0));
    assertEquals("https://REDACTED:REDACTED@s3.example.com/bucket/key"
            + "?X-Amz-Date=1&Signature=REDACTED&AWSAccessKeyId=REDACTED&sig=REDACTED&X-Goog-Signature=REDACTED&q=keep",
        s.attributes().get(URL_FULL));
  }
}
