package io.goscope.plugins.nethttp;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordAttributes;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TraceRecord;
import io.goscope.plugins.nethttp.NetHttpEventLayout.Client;
import io.goscope.plugins.nethttp.NetHttpEventLayout.Server;
import io.goscope.plugins.nethttp.NetHttpEventLayout.TraceState;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Decodes the net/http records (layouts in {@link NetHttpEventLayout}) into spans and metrics following the
 * OpenTelemetry HTTP semantic conventions. Thread-safe; its only state is a small bounded map of incoming
 * {@code tracestate} values waiting for the server span whose parent they came with.
 *
 * <p>Server spans (one per request served):
 *
 * <ul>
 *   <li>Name: {@code {method} {http.route}} when a ServeMux pattern matched, else the method; {@code HTTP} for a
 *       method outside the known set (then {@code http.request.method=_OTHER} and
 *       {@code http.request.method_original} holds the original).
 *   <li>Status: ERROR for 5xx, otherwise UNSET (4xx is not an error for a server).
 *   <li>A raw status of 0 means the handler wrote no header, which net/http answers with 200; -1 means unknown and
 *       no {@code http.response.status_code} is set. So does any value outside 100..999.
 *   <li>{@code http.route} is the pattern (low cardinality), also on the duration histogram; the raw path is
 *       {@code url.path}, on the span only.
 * </ul>
 *
 * <p>Client spans (one per {@code http.Transport} round trip): name {@code {method}}; {@code url.full} with user
 * info replaced by {@code REDACTED:REDACTED} and the values of the query parameters the conventions list as
 * sensitive replaced by {@code REDACTED}; a transport error sets {@code error.type} to the Go type of the error
 * ({@code *net.OpError}, ...) and status ERROR; a 4xx or 5xx response sets {@code error.type} to the status code and
 * status ERROR.
 */
public final class NetHttpEventDecoder implements RecordDecoder {
  /** Instrumentation scope of every span this decoder emits. */
  public static final String SCOPE = "io.goscope.nethttp";

  static final AttributeKey<String> HTTP_REQUEST_METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<String> HTTP_REQUEST_METHOD_ORIGINAL =
      AttributeKey.stringKey("http.request.method_original");
  static final AttributeKey<Long> HTTP_RESPONSE_STATUS_CODE =
      AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> HTTP_ROUTE = AttributeKey.stringKey("http.route");
  static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
  static final AttributeKey<String> URL_SCHEME = AttributeKey.stringKey("url.scheme");
  static final AttributeKey<String> URL_FULL = AttributeKey.stringKey("url.full");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final AttributeKey<String> CLIENT_ADDRESS = AttributeKey.stringKey("client.address");
  static final AttributeKey<Long> CLIENT_PORT = AttributeKey.longKey("client.port");
  static final AttributeKey<String> NETWORK_PROTOCOL_VERSION =
      AttributeKey.stringKey("network.protocol.version");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  /**
   * Not a semantic convention: what outgoing propagation did with the request, where a rule enabled it
   * ({@code injected}, {@code own} = the application's traceparent, {@code unsure}, {@code unavailable} = TLS under
   * lockdown, {@code missed}); absent when propagation is off. Tells why a callee did not join the trace.
   */
  static final AttributeKey<String> GOSCOPE_PROPAGATION = AttributeKey.stringKey("goscope.propagation");

  /** Methods the semantic conventions know (RFC 9110 plus PATCH); anything else is {@code _OTHER}. */
  private static final Set<String> KNOWN_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  /** Query parameters whose values the conventions ask to redact in {@code url.full}. */
  static final Set<String> SENSITIVE_QUERY_KEYS = Set.of("AWSAccessKeyId", "Signature", "sig", "X-Goog-Signature");

  /** The status codes net/http's WriteHeader accepts (checkWriteHeaderCode). */
  private static final long MIN_STATUS = 100;
  private static final long MAX_STATUS = 999;

  private static final String OTHER = "_OTHER";
  private static final String OTHER_SPAN_NAME = "HTTP";
  private static final HexFormat HEX = HexFormat.of();
  /** Incoming tracestate values waiting for their server span (each request takes at most one). */
  static final int MAX_PENDING_TRACESTATES = 4096;
  /** W3C: a tracestate value of more than 512 characters may be dropped whole. */
  private static final int MAX_TRACESTATE = 512;

  private final Map<String, String> traceStates = new LinkedHashMap<>(64, 0.75f, false) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > MAX_PENDING_TRACESTATES;
    }
  };

  @Override
  public void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink) {
    switch (header.type()) {
      case Server.TYPE -> decodeServer(view(record, header, Server.SIZE), header, sink);
      case Client.TYPE -> decodeClient(view(record, header, Client.SIZE), sink);
      case TraceState.TYPE -> keepTraceState(view(record, header, TraceState.SIZE), header);
      default -> throw new RecordFormatException(
          "decode nethttp record pid=" + header.pid() + ": unknown record type " + header.type());
    }
  }

  private static ByteBuffer view(ByteBuffer record, RecordHeader header, int size) {
    if (record.remaining() < size) {
      throw new RecordFormatException("decode nethttp record pid=" + header.pid() + " type=" + header.type()
          + ": record has " + record.remaining() + " bytes, needs " + size);
    }
    return record.slice(record.position(), size).order(ByteOrder.LITTLE_ENDIAN);
  }

  // ---- server -------------------------------------------------------------------------------------------------

  private void decodeServer(ByteBuffer r, RecordHeader header, TelemetrySink sink) {
    AttributesBuilder attrs = RecordAttributes.builder();
    String method = string(r, Server.METHOD, Server.METHOD_LEN, Server.METHOD_CAP);
    String methodName = method(method, attrs);

    String path = string(r, Server.PATH, Server.PATH_LEN, Server.PATH_CAP);
    if (path != null) {
      attrs.put(URL_PATH, path);
    }
    String route = string(r, Server.ROUTE, Server.ROUTE_LEN, Server.ROUTE_CAP);
    if (route != null && !route.isEmpty()) {
      route = routeOf(route);
      attrs.put(HTTP_ROUTE, route);
    }
    boolean tls = r.get(Server.TLS) != 0;
    attrs.put(URL_SCHEME, tls ? "https" : "http");

    long status = status(r.getLong(Server.STATUS));
    if (status > 0) {
      attrs.put(HTTP_RESPONSE_STATUS_CODE, status);
    }
    String host = string(r, Server.HOST, Server.HOST_LEN, Server.HOST_CAP);
    if (host != null && !host.isEmpty()) {
      HostPort hp = HostPort.parse(host);
      if (!hp.host().isEmpty()) {
        attrs.put(SERVER_ADDRESS, hp.host());
        attrs.put(SERVER_PORT, (long) (hp.hasPort() ? hp.port() : tls ? 443 : 80));
      }
    }
    String version = protocolVersion(string(r, Server.PROTO, Server.PROTO_LEN, Server.PROTO_CAP));
    if (version != null) {
      attrs.put(NETWORK_PROTOCOL_VERSION, version);
    }
    String remote = string(r, Server.REMOTE_ADDR, Server.REMOTE_ADDR_LEN, Server.REMOTE_ADDR_CAP);
    if (remote != null && !remote.isEmpty()) {
      HostPort hp = HostPort.parse(remote);
      if (!hp.host().isEmpty()) {
        attrs.put(CLIENT_ADDRESS, hp.host());
      }
      if (hp.hasPort()) {
        attrs.put(CLIENT_PORT, (long) hp.port());
      }
    }
    boolean serverError = status >= 500 && status <= 599;
    if (serverError) {
      attrs.put(ERROR_TYPE, Long.toString(status));
    }
    String name = route != null && !route.isEmpty() && !methodName.equals(OTHER_SPAN_NAME)
        ? methodName + " " + route : methodName;
    ProbeSpan.Builder span = ProbeSpan.builder(name, SCOPE)
        .kind(SpanKind.SERVER)
        .timestamps(r.getLong(Server.START_NS), r.getLong(Server.END_NS))
        .attributes(attrs.build())
        .status(serverError ? StatusCode.ERROR : StatusCode.UNSET, "");
    TraceRecord.apply(r, Server.TRACE, span);
    ProbeSpan built = span.build();
    if (built.parentRemote()) {
      String state = takeTraceState(header.pid(), built.parentSpanId());
      if (state != null) {
        built = span.traceState(state).build();
      }
    }
    sink.span(built);
    double seconds = (built.endKtimeNanos() - built.startKtimeNanos()) / 1e9;
    sink.histogram(NetHttpMetrics.SERVER_DURATION, seconds, NetHttpMetrics.serverDurationAttributes(built.attributes()));
  }

  /**
   * The route of a ServeMux pattern: Go 1.22 patterns may start with a method and a host ({@code GET
   * example.com/items/{id}}); {@code http.route} is the path template alone.
   */
  static String routeOf(String pattern) {
    String p = pattern.strip();
    int space = p.indexOf(' ');
    if (space > 0 && p.substring(0, space).chars().allMatch(Character::isUpperCase)) {
      p = p.substring(space + 1).strip();
    }
    int slash = p.indexOf('/');
    return slash > 0 ? p.substring(slash) : p;
  }

  // ---- client -------------------------------------------------------------------------------------------------

  private static void decodeClient(ByteBuffer r, TelemetrySink sink) {
    AttributesBuilder attrs = RecordAttributes.builder();
    String method = string(r, Client.METHOD, Client.METHOD_LEN, Client.METHOD_CAP);
    String name = method(method, attrs);
    String scheme = string(r, Client.SCHEME, Client.SCHEME_LEN, Client.SCHEME_CAP);
    String host = string(r, Client.HOST, Client.HOST_LEN, Client.HOST_CAP);
    String path = string(r, Client.PATH, Client.PATH_LEN, Client.PATH_CAP);
    String query = string(r, Client.QUERY, Client.QUERY_LEN, Client.QUERY_CAP);
    boolean userinfo = r.get(Client.USERINFO) != 0;
    if (scheme != null && !scheme.isEmpty()) {
      attrs.put(URL_SCHEME, scheme);
    }
    if (host != null && !host.isEmpty()) {
      HostPort hp = HostPort.parse(host);
      if (!hp.host().isEmpty()) {
        attrs.put(SERVER_ADDRESS, hp.host());
        int port = hp.hasPort() ? hp.port() : "https".equals(scheme) ? 443 : "http".equals(scheme) ? 80 : -1;
        if (port > 0) {
          attrs.put(SERVER_PORT, (long) port);
        }
      }
      attrs.put(URL_FULL, urlFull(scheme, host, userinfo, path, query));
    }
    long status = r.getLong(Client.STATUS);
    if (status >= MIN_STATUS && status <= MAX_STATUS) {
      attrs.put(HTTP_RESPONSE_STATUS_CODE, status);
    }
    String version = protocolVersion(string(r, Client.PROTO, Client.PROTO_LEN, Client.PROTO_CAP));
    if (version != null) {
      attrs.put(NETWORK_PROTOCOL_VERSION, version);
    }
    long errorType = r.getLong(Client.ERROR_TYPE);
    String error = null;
    if (errorType != 0) {
      error = sink.process().goTypeName(errorType).orElse(OTHER);
    } else if (status >= 400 && status <= MAX_STATUS) {
      error = Long.toString(status);
    }
    if (error != null) {
      attrs.put(ERROR_TYPE, error);
    }
    String propagation = propagationOutcome(r.get(Client.PROPAGATION) & 0xff);
    if (propagation != null) {
      attrs.put(GOSCOPE_PROPAGATION, propagation);
    }
    ProbeSpan.Builder span = ProbeSpan.builder(name, SCOPE)
        .kind(SpanKind.CLIENT)
        .timestamps(r.getLong(Client.START_NS), r.getLong(Client.END_NS))
        .attributes(attrs.build())
        .status(error != null ? StatusCode.ERROR : StatusCode.UNSET, "");
    TraceRecord.apply(r, Client.TRACE, span);
    ProbeSpan built = span.build();
    sink.span(built);
    double seconds = (built.endKtimeNanos() - built.startKtimeNanos()) / 1e9;
    sink.histogram(NetHttpMetrics.CLIENT_DURATION, seconds, NetHttpMetrics.clientDurationAttributes(built.attributes()));
  }

  /**
   * {@code scheme://host/path?query}, with user info (when the URL had any) as {@code REDACTED:REDACTED} and the
   * values of sensitive query parameters as {@code REDACTED}, as the HTTP conventions ask for {@code url.full}.
   */
  static String urlFull(String scheme, String host, boolean userinfo, String path, String query) {
    StringBuilder b = new StringBuilder();
    b.append(scheme == null || scheme.isEmpty() ? "http" : scheme).append("://");
    if (userinfo) {
      b.append("REDACTED:REDACTED@");
    }
    b.append(host);
    if (path != null && !path.isEmpty()) {
      if (!path.startsWith("/")) {
        b.append('/');
      }
      b.append(path);
    }
    if (query != null && !query.isEmpty()) {
      b.append('?').append(redactQuery(query));
    }
    return b.toString();
  }

  static String redactQuery(String query) {
    StringBuilder b = new StringBuilder(query.length());
    for (String pair : query.split("&", -1)) {
      if (b.length() > 0) {
        b.append('&');
      }
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (eq >= 0 && SENSITIVE_QUERY_KEYS.contains(key)) {
        b.append(key).append("=REDACTED");
      } else {
        b.append(pair);
      }
    }
    return b.toString();
  }

  // ---- tracestate ---------------------------------------------------------------------------------------------

  private void keepTraceState(ByteBuffer r, RecordHeader header) {
    long len = r.getLong(TraceState.LEN);
    if (len <= 0) {
      return;
    }
    byte[] bytes = new byte[(int) Math.min(len, TraceState.VALUE_CAP)];
    r.get(TraceState.VALUE, bytes);
    String value = new String(bytes, StandardCharsets.US_ASCII);
    int end = 0;
    while (end < value.length() && value.charAt(end) != '\r' && value.charAt(end) != '\n') {
      end++;
    }
    value = value.substring(0, end).strip();
    if (value.isEmpty() || value.length() > MAX_TRACESTATE || !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
      return; // truncated at the buffer (a line end not seen) or not printable: not trusted
    }
    if (end == bytes.length && len > TraceState.VALUE_CAP) {
      return;
    }
    byte[] parent = new byte[8];
    r.get(TraceState.PARENT_SPAN_ID, parent);
    synchronized (traceStates) {
      traceStates.put(header.pid() + ":" + HEX.formatHex(parent), value);
    }
  }

  private String takeTraceState(int pid, String parentSpanId) {
    synchronized (traceStates) {
      return traceStates.remove(pid + ":" + parentSpanId);
    }
  }

  // ---- shared -------------------------------------------------------------------------------------------------

  /** Puts the method attributes and returns the span name for it. */
  private static String method(String method, AttributesBuilder attrs) {
    if (method != null && KNOWN_METHODS.contains(method)) {
      attrs.put(HTTP_REQUEST_METHOD, method);
      return method;
    }
    attrs.put(HTTP_REQUEST_METHOD, OTHER);
    if (method != null) {
      attrs.put(HTTP_REQUEST_METHOD_ORIGINAL, method);
    }
    return OTHER_SPAN_NAME;
  }

  /** The status code net/http sent for a raw record status, or -1 if unknown (see the class documentation). */
  static long status(long raw) {
    if (raw == 0) {
      return 200;
    }
    return raw >= MIN_STATUS && raw <= MAX_STATUS ? raw : -1;
  }

  /**
   * The copied prefix of a Go string: min(full length, capacity) bytes, or null when the probe could not read it
   * (negative length).
   */
  private static String string(ByteBuffer r, int offset, int lengthOffset, int capacity) {
    long len = r.getLong(lengthOffset);
    if (len < 0) {
      return null;
    }
    int n = (int) Math.min(len, capacity);
    byte[] bytes = new byte[n];
    r.get(offset, bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /**
   * {@code HTTP/1.1} → {@code 1.1}, {@code HTTP/1.0} → {@code 1.0}, {@code HTTP/2.0} → {@code 2}; null for anything
   * that is not an HTTP protocol string.
   */
  static String protocolVersion(String proto) {
    if (proto == null || !proto.startsWith("HTTP/") || proto.length() == "HTTP/".length()) {
      return null;
    }
    String version = proto.substring("HTTP/".length());
    if (version.endsWith(".0") && !version.startsWith("0.") && !version.startsWith("1.")) {
      return version.substring(0, version.length() - 2);
    }
    return version;
  }

  static String propagationOutcome(int code) {
    return switch (code) {
      case NetHttpEventLayout.Client.PROPAGATION_INJECTED -> "injected";
      case NetHttpEventLayout.Client.PROPAGATION_OWN -> "own";
      case NetHttpEventLayout.Client.PROPAGATION_UNSURE -> "unsure";
      case NetHttpEventLayout.Client.PROPAGATION_UNAVAILABLE -> "unavailable";
      case NetHttpEventLayout.Client.PROPAGATION_MISSED -> "missed";
      default -> null;
    };
  }
}
