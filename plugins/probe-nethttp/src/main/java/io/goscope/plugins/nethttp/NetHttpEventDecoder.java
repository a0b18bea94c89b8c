package io.goscope.plugins.nethttp;

import static io.goscope.plugins.nethttp.NetHttpEventLayout.END_NS;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.HOST;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.HOST_CAP;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.HOST_LEN;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.METHOD;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.METHOD_CAP;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.METHOD_LEN;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PARENT_SPAN_ID;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PARENT_SPAN_ID_SIZE;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PATH;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PATH_CAP;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PATH_LEN;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PROTO;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PROTO_CAP;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.PROTO_LEN;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.RECORD_TYPE_SERVER;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.REMOTE_ADDR;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.REMOTE_ADDR_CAP;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.REMOTE_ADDR_LEN;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.SIZE;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.SPAN_ID;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.SPAN_ID_SIZE;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.START_NS;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.STATUS;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.TLS;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.TRACE_ID;
import static io.goscope.plugins.nethttp.NetHttpEventLayout.TRACE_ID_SIZE;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Set;

/**
 * Decodes {@code struct nethttp_event} records (layout in {@link NetHttpEventLayout}) into SERVER spans following the
 * OpenTelemetry HTTP semantic conventions, and records every request (sampled or not) into the
 * {@link NetHttpMetrics#SERVER_DURATION} histogram. Stateless and thread-safe.
 *
 * <ul>
 *   <li>Name: the request method, or {@code HTTP} for a method outside the known set (then
 *       {@code http.request.method=_OTHER} and {@code http.request.method_original} holds the original).
 *   <li>Status: ERROR for 5xx, otherwise UNSET (4xx is not an error for a server).
 *   <li>A raw status of 0 means the handler wrote no header, which net/http answers with 200; -1 means unknown and
 *       no {@code http.response.status_code} is set. So does any other value outside 100..999, the codes net/http
 *       accepts (its WriteHeader panics on others): such a value was not a status, and as an attribute it would
 *       open a metric series per distinct value.
 *   <li>Strings longer than their record buffer arrive truncated and are used as-is.
 * </ul>
 */
public final class NetHttpEventDecoder implements RecordDecoder {
  /** Instrumentation scope of every span this decoder emits. */
  public static final String SCOPE = "io.goscope.nethttp";

  static final AttributeKey<String> HTTP_REQUEST_METHOD = AttributeKey.stringKey("http.request.method");
  static final AttributeKey<String> HTTP_REQUEST_METHOD_ORIGINAL =
      AttributeKey.stringKey("http.request.method_original");
  static final AttributeKey<Long> HTTP_RESPONSE_STATUS_CODE =
      AttributeKey.longKey("http.response.status_code");
  static final AttributeKey<String> URL_PATH = AttributeKey.stringKey("url.path");
  static final AttributeKey<String> URL_SCHEME = AttributeKey.stringKey("url.scheme");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final AttributeKey<String> CLIENT_ADDRESS = AttributeKey.stringKey("client.address");
  static final AttributeKey<Long> CLIENT_PORT = AttributeKey.longKey("client.port");
  static final AttributeKey<String> NETWORK_PROTOCOL_VERSION =
      AttributeKey.stringKey("network.protocol.version");

  /** Methods the semantic conventions know (RFC 9110 plus PATCH); anything else is {@code _OTHER}. */
  private static final Set<String> KNOWN_METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

  /** The status codes net/http's WriteHeader accepts (checkWriteHeaderCode). */
  private static final long MIN_STATUS = 100;
  private static final long MAX_STATUS = 999;

  private static final String OTHER_METHOD = "_OTHER";
  private static final String OTHER_SPAN_NAME = "HTTP";
  private static final HexFormat HEX = HexFormat.of();

  @Override
  public void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink) {
    if (header.type() != RECORD_TYPE_SERVER) {
      throw new RecordFormatException(
          "decode nethttp record pid=" + header.pid() + ": unknown record type " + header.type());
    }
    if (record.remaining() < SIZE) {
      throw new RecordFormatException(
          "decode nethttp record pid="
              + header.pid()
              + ": record has "
              + record.remaining()
              + " bytes, the server event needs "
              + SIZE);
    }
    ByteBuffer r = record.slice(record.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
    ProbeSpan span = toSpan(r);
    sink.span(span);
    double seconds = (span.endKtimeNanos() - span.startKtimeNanos()) / 1e9;
    sink.histogram(NetHttpMetrics.SERVER_DURATION, seconds,
        NetHttpMetrics.serverDurationAttributes(span.attributes()));
  }

  private static ProbeSpan toSpan(ByteBuffer r) {
    AttributesBuilder attrs = Attributes.builder();

    String method = string(r, METHOD, METHOD_LEN, METHOD_CAP);
    String spanName;
    if (method != null && KNOWN_METHODS.contains(method)) {
      spanName = method;
      attrs.put(HTTP_REQUEST_METHOD, method);
    } else {
      spanName = OTHER_SPAN_NAME;
      attrs.put(HTTP_REQUEST_METHOD, OTHER_METHOD);
      if (method != null) {
        attrs.put(HTTP_REQUEST_METHOD_ORIGINAL, method);
      }
    }

    String path = string(r, PATH, PATH_LEN, PATH_CAP);
    if (path != null) {
      attrs.put(URL_PATH, path);
    }
    boolean tls = r.get(TLS) != 0;
    attrs.put(URL_SCHEME, tls ? "https" : "http");

    long status = status(r.getLong(STATUS));
    if (status > 0) {
      attrs.put(HTTP_RESPONSE_STATUS_CODE, status);
    }

    String host = string(r, HOST, HOST_LEN, HOST_CAP);
    if (host != null && !host.isEmpty()) {
      HostPort hp = HostPort.parse(host);
      if (!hp.host().isEmpty()) {
        attrs.put(SERVER_ADDRESS, hp.host());
        attrs.put(SERVER_PORT, (long) (hp.hasPort() ? hp.port() : tls ? 443 : 80));
      }
    }

    String version = protocolVersion(string(r, PROTO, PROTO_LEN, PROTO_CAP));
    if (version != null) {
      attrs.put(NETWORK_PROTOCOL_VERSION, version);
    }

    String remote = string(r, REMOTE_ADDR, REMOTE_ADDR_LEN, REMOTE_ADDR_CAP);
    if (remote != null && !remote.isEmpty()) {
      HostPort hp = HostPort.parse(remote);
      if (!hp.host().isEmpty()) {
        attrs.put(CLIENT_ADDRESS, hp.host());
      }
      if (hp.hasPort()) {
        attrs.put(CLIENT_PORT, (long) hp.port());
      }
    }

    return ProbeSpan.builder(spanName, SCOPE)
        .kind(SpanKind.SERVER)
        .timestamps(r.getLong(START_NS), r.getLong(END_NS))
        .traceId(hex(r, TRACE_ID, TRACE_ID_SIZE))
        .spanId(hex(r, SPAN_ID, SPAN_ID_SIZE))
        .parentSpanId(hex(r, PARENT_SPAN_ID, PARENT_SPAN_ID_SIZE))
        .attributes(attrs.build())
        .status(status >= 500 && status <= 599 ? StatusCode.ERROR : StatusCode.UNSET, "")
        .build();
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

  private static String hex(ByteBuffer r, int offset, int size) {
    byte[] bytes = new byte[size];
    r.get(offset, bytes);
    return HEX.formatHex(bytes);
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
}
