package io.goscope.plugins.nethttp;

import io.goscope.api.HistogramInstrument;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

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

  /**
   * Metric attributes by the span values they come from. The same few combinations recur request after request, and
   * building (sorting) a fresh {@code Attributes} per span took a fifth of the decode thread's time in the pipeline
   * benchmark. Bounded: cleared when full (client server addresses can be many).
   */
  static final int CACHE_MAX = 1024;

  private static final Map<ServerKey, Attributes> SERVER_CACHE = new ConcurrentHashMap<>();
  private static final Map<ClientKey, Attributes> CLIENT_CACHE = new ConcurrentHashMap<>();

  private record ServerKey(String method, String scheme, String route, String protocol, Long status) {}

  private record ClientKey(String method, String address, Long port, String scheme, Long status, String protocol,
      String errorType) {}

  /** The metric attributes for a server span's attributes: the low-cardinality subset plus {@code error.type}. */
  static Attributes serverDurationAttributes(Attributes span) {
    ServerKey key = new ServerKey(span.get(NetHttpEventDecoder.HTTP_REQUEST_METHOD),
        span.get(NetHttpEventDecoder.URL_SCHEME), span.get(NetHttpEventDecoder.HTTP_ROUTE),
        span.get(NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION),
        span.get(NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE));
    return cached(SERVER_CACHE, key, NetHttpMetrics::server);
  }

  private static Attributes server(ServerKey k) {
    AttributesBuilder b = Attributes.builder();
    put(b, NetHttpEventDecoder.HTTP_REQUEST_METHOD, k.method());
    put(b, NetHttpEventDecoder.URL_SCHEME, k.scheme());
    put(b, NetHttpEventDecoder.HTTP_ROUTE, k.route());
    put(b, NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION, k.protocol());
    Long status = k.status();
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
    ClientKey key = new ClientKey(span.get(NetHttpEventDecoder.HTTP_REQUEST_METHOD),
        span.get(NetHttpEventDecoder.SERVER_ADDRESS), span.get(NetHttpEventDecoder.SERVER_PORT),
        span.get(NetHttpEventDecoder.URL_SCHEME), span.get(NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE),
        span.get(NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION), span.get(NetHttpEventDecoder.ERROR_TYPE));
    return cached(CLIENT_CACHE, key, NetHttpMetrics::client);
  }

  private static Attributes client(ClientKey k) {
    AttributesBuilder b = Attributes.builder();
    put(b, NetHttpEventDecoder.HTTP_REQUEST_METHOD, k.method());
    put(b, NetHttpEventDecoder.SERVER_ADDRESS, k.address());
    put(b, NetHttpEventDecoder.SERVER_PORT, k.port());
    put(b, NetHttpEventDecoder.URL_SCHEME, k.scheme());
    put(b, NetHttpEventDecoder.HTTP_RESPONSE_STATUS_CODE, k.status());
    put(b, NetHttpEventDecoder.NETWORK_PROTOCOL_VERSION, k.protocol());
    put(b, NetHttpEventDecoder.ERROR_TYPE, k.errorType());
    return b.build();
  }

  /** The cached attributes for {@code key}, built on a miss; the cache is cleared when it holds CACHE_MAX. */
  private static <K> Attributes cached(Map<K, Attributes> cache, K key, Function<K, Attributes> build) {
    Attributes a = cache.get(key);
    if (a == null) {
      a = build.apply(key);
      if (cache.size() >= CACHE_MAX) {
        cache.clear();
      }
      cache.put(key, a);
    }
    return a;
  }

  private static <T> void put(AttributesBuilder b, AttributeKey<T> key, T value) {
    if (value != null) {
      b.put(key, value);
    }
  }
}
