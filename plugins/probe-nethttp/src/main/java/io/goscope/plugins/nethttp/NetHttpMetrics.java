package io.goscope.plugins.nethttp;

import io.goscope.api.HistogramInstrument;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import java.util.List;

/**
 * The metrics net/http server records produce, following the OpenTelemetry HTTP metric semantic conventions.
 *
 * <p>{@code http.server.request.duration} carries {@code http.request.method} (known methods or {@code _OTHER}),
 * {@code url.scheme}, {@code http.response.status_code} when known, {@code network.protocol.version} when known and
 * {@code error.type} (the status code as a string) for 5xx responses. {@code server.address} and
 * {@code server.port} are opt-in on this metric in the conventions (they come from the client-controlled Host
 * header, so their cardinality is unbounded) and are left out; {@code url.path} and client attributes are span-only.
 */
public final class NetHttpMetrics {
  /** Bucket boundaries the conventions recommend for {@code http.server.request.duration}, in seconds. */
  public static final List<Double> DURATION_BOUNDARIES =
      List.of(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0);

  /** {@code http.server.request.duration}: time from the request reaching the handler to the handler's return. */
  public static final HistogramInstrument SERVER_DURATION = new HistogramInstrument(
      "http.server.request.duration", "s", "Duration of HTTP server requests.", DURATION_BOUNDARIES,
      NetHttpEventDecoder.SCOPE);

  /** {@code http.client.request.duration}: a Transport round trip, from its start to the response headers. */
  public static final HistogramInstrument CLIENT_DURATION = new HistogramInstrument(
      "http.client.request.duration", "s", "Duration of HTTP client requests.", DURATION_BOUNDARIES,
      NetHttpEventDecoder.SCOPE);

  static final AttributeKey<String> ERROR_TYPE = NetHttpEventDecoder.ERROR_TYPE;

  private NetHttpMetrics() {}

  /** The metric attributes for a server span's attributes: the low-cardinality subset plus {@code error.type}. */
  static Attributes serverDurationAttributes(Attributes span) {
    AttributesBuilder b = Attributes.builder();
    copy(span, NetHttpEventDecoder.HTTP_REQUEST_METHOD, b);
    copy(span, NetHttpEventDecoder.URL_SCHEME, b);
    copy(span, NetHttpEventDecoder.HTTP_ROUTE, b);
    copy(span, NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION, b);
    Long status = span.get(NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE);
    if (status != null) {
      b.put(NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500 && status <= 599) {
        b.put(ERROR_TYPE, Long.toString(status));
      }
    }
    return b.build();
  }

  /** The metric attributes of a client span. */
  static Attributes clientDurationAttributes(Attributes span) {
    AttributesBuilder b = Attributes.builder();
    copy(span, NetHttpEventDecoder.HTTP_REQUEST_METHOD, b);
    copy(span, NetHttpEventDecoder.SERVER_ADDRESS, b);
    copy(span, NetHttpEventDecoder.SERVER_PORT, b);
    copy(span, NetHttpEventDecoder.URL_SCHEME, b);
    copy(span, NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE, b);
    copy(span, NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION, b);
    copy(span, NetHttpEventDecoder.ERROR_TYPE, b);
    return b.build();
  }

  private static <T> void copy(Attributes from, AttributeKey<T> key, AttributesBuilder to) {
    T value = from.get(key);
    if (value != null) {
      to.put(key, value);
    }
  }
}
