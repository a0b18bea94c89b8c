package io.goscope.plugins.nethttp;

import static io.goscope.plugins.nethttp.NetHttpEventDecoder.HTTP_REQUEST_METHOD;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION;
import static io.goscope.plugins.nethttp.NetHttpEventDecoder.URL_SCHEME;
import static io.goscope.plugins.nethttp.NetHttpMetrics.ERROR_TYPE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.goscope.api.HistogramInstrument;
import io.goscope.api.testing.RecordingSink;
import io.goscope.api.testing.RecordingSink.Measurement;
import io.opentelemetry.api.common.Attributes;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code http.server.request.duration} measurements the decoder records, on byte fixtures. */
class NetHttpMetricsTest {
  private final NetHttpEventDecoder decoder = new NetHttpEventDecoder();

  private Measurement decode(EventFixture f) {
    RecordingSink sink = new RecordingSink(Map.of(), Map.of());
    decoder.decode(f.build(), f.header(), sink);
    assertEquals(1, sink.spans.size(), "one span");
    assertEquals(1, sink.measurements.size(), "one measurement per record");
    return sink.measurements.get(0);
  }

  @Test
  void instrumentFollowsTheConventions() {
    HistogramInstrument i = NetHttpMetrics.SERVER_DURATION;
    assertEquals("http.server.request.duration", i.name());
    assertEquals("s", i.unit());
    assertEquals("io.goscope.nethttp", i.scope());
    assertEquals(List.of(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0),
        i.boundaries());
  }

  @Test
  void okRequestInSecondsWithLowCardinalityAttributes() {
    Measurement m = decode(new EventFixture().times(1_000_000_000L, 1_012_500_000L));
    assertSame(NetHttpMetrics.SERVER_DURATION, m.instrument());
    assertEquals(0.0125, m.value(), 1e-12);
    // No url.path, server.address/port (opt-in on the metric), client.*: bounded cardinality.
    assertEquals(
        Attributes.builder()
            .put(HTTP_REQUEST_METHOD, "GET")
            .put(URL_SCHEME, "http")
            .put(NETWORK_PROTOCOL_VERSION, "1.1")
            .put(HTTP_RESPONSE_STATUS_CODE, 200L)
            .build(),
        m.attributes());
  }

  @Test
  void serverErrorCarriesErrorTypeAsString() {
    Measurement m = decode(new EventFixture().method("DELETE").status(503));
    assertEquals("DELETE", m.attributes().get(HTTP_REQUEST_METHOD));
    assertEquals(503L, m.attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals("503", m.attributes().get(ERROR_TYPE));
  }

  @Test
  void clientErrorIsNoErrorForServers() {
    Measurement m = decode(new EventFixture().status(404));
    assertEquals(404L, m.attributes().get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals(null, m.attributes().get(ERROR_TYPE));
  }

  @Test
  void unknownMethodAndStatus() {
    Measurement m = decode(new EventFixture().method("FOOBAR").status(-1).proto("HTTP/2.0"));
    assertEquals(
        Attributes.builder()
            .put(HTTP_REQUEST_METHOD, "_OTHER")
            .put(URL_SCHEME, "http")
            .put(NETWORK_PROTOCOL_VERSION, "2")
            .build(),
        m.attributes());
  }

  @Test
  void httpsScheme() {
    Measurement m = decode(new EventFixture().tls(true));
    assertEquals("https", m.attributes().get(URL_SCHEME));
  }

  @Test
  void endBeforeStartIsZero() {
    Measurement m = decode(new EventFixture().times(9_000, 5_000));
    assertEquals(0.0, m.value());
  }

  /** Metric attributes are cached by value: the same values give the same attributes, other values never. */
  @Test
  void cachedAttributesFollowTheValuesAndStayBounded() {
    Attributes first = decode(new EventFixture().status(200)).attributes();
    assertSame(first, decode(new EventFixture().status(200)).attributes(), "second request, same values");
    Attributes other = decode(new EventFixture().status(500)).attributes();
    assertEquals(500L, other.get(HTTP_RESPONSE_STATUS_CODE));
    assertEquals("500", other.get(ERROR_TYPE));
    assertEquals(200L, first.get(HTTP_RESPONSE_STATUS_CODE));
    for (int status = 100; status < 100 + 2 * NetHttpMetrics.CACHE_MAX; status++) {
      Attributes a = NetHttpMetrics.serverDurationAttributes(Attributes.builder()
          .put(HTTP_REQUEST_METHOD, "GET").put(HTTP_RESPONSE_STATUS_CODE, (long) status).build());
      assertEquals((long) status, a.get(HTTP_RESPONSE_STATUS_CODE));
    }
    assertEquals(first, decode(new EventFixture().status(200)).attributes(), "rebuilt after the cache was cleared");
  }
}
