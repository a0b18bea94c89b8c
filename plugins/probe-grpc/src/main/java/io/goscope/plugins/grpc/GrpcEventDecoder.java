package io.goscope.plugins.grpc;

import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordAttributes;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import io.goscope.api.TraceRecord;
import io.goscope.plugins.grpc.GrpcEventLayout.Addr;
import io.goscope.plugins.grpc.GrpcEventLayout.Client;
import io.goscope.plugins.grpc.GrpcEventLayout.Server;
import io.goscope.plugins.grpc.GrpcEventLayout.TraceState;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decodes the grpc-go records (layouts in {@link GrpcEventLayout}) into spans and metrics following the OpenTelemetry
 * RPC and gRPC semantic conventions of release {@value #SEMCONV_VERSION} ({@value #SCHEMA_URL}). Thread-safe; its
 * only state is a small bounded map of incoming {@code tracestate} values waiting for their server span.
 *
 * <ul>
 *   <li>Name: {@code rpc.method}, the fully qualified {@code package.Service/Method}; {@code grpc} when the method is
 *       {@code _OTHER}: unreadable, or answered with UNIMPLEMENTED (grpc-go's answer to a method it does not serve,
 *       so the method is not known to be a real one; the original goes to {@code rpc.method_original}).
 *   <li>{@code rpc.system.name} {@code grpc}; {@code rpc.response.status_code} the status code's name ({@code OK},
 *       {@code NOT_FOUND}, ...).
 *   <li>Server status: ERROR (and {@code error.type} = the code) for UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
 *       INTERNAL, UNAVAILABLE and DATA_LOSS only, the gRPC server table; NOT_FOUND and the like are the client's
 *       problem. Client status: ERROR for every code but OK.
 *   <li>Server: {@code server.address}/{@code server.port} the connection's local address (the one the client
 *       reached), {@code network.peer.address}/{@code network.peer.port} its remote address, {@code network.transport}
 *       {@code tcp}, {@code network.protocol.name} {@code http} and version {@code 2}.
 *   <li>Client: {@code server.address}/{@code server.port} parsed from the channel's target as the conventions ask
 *       (gRPC naming: {@code host:port}, {@code dns:[//authority/]host[:port]}, {@code passthrough:///host:port},
 *       {@code unix:path}; any other target is {@code server.address} as a whole, without a port).
 *   <li>A client call's code: none for a call without error (OK), also for a stream that ended with {@code io.EOF};
 *       a status error's code; UNKNOWN for any other error (as {@code status.Code} says for it).
 * </ul>
 */
public final class GrpcEventDecoder implements RecordDecoder {
  /** Instrumentation scope of every span and metric this decoder emits. */
  public static final String SCOPE = "io.goscope.grpc";
  /** The semantic conventions release these spans and metrics follow. */
  public static final String SEMCONV_VERSION = "1.44.0";
  public static final String SCHEMA_URL = "https://opentelemetry.io/schemas/" + SEMCONV_VERSION;

  static final AttributeKey<String> RPC_SYSTEM_NAME = AttributeKey.stringKey("rpc.system.name");
  static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
  static final AttributeKey<String> RPC_METHOD_ORIGINAL = AttributeKey.stringKey("rpc.method_original");
  static final AttributeKey<String> RPC_RESPONSE_STATUS_CODE = AttributeKey.stringKey("rpc.response.status_code");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
  static final AttributeKey<String> NETWORK_PEER_ADDRESS = AttributeKey.stringKey("network.peer.address");
  static final AttributeKey<Long> NETWORK_PEER_PORT = AttributeKey.longKey("network.peer.port");
  static final AttributeKey<String> NETWORK_TRANSPORT = AttributeKey.stringKey("network.transport");
  static final AttributeKey<String> NETWORK_TYPE = AttributeKey.stringKey("network.type");
  static final AttributeKey<String> NETWORK_PROTOCOL_NAME = AttributeKey.stringKey("network.protocol.name");
  static final AttributeKey<String> NETWORK_PROTOCOL_VERSION = AttributeKey.stringKey("network.protocol.version");

  static final String SYSTEM = "grpc";
  static final String OTHER = "_OTHER";

  /** gRPC status codes by number (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
  static final List<String> CODES = List.of("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED");
  static final int UNKNOWN = 2;
  static final int UNIMPLEMENTED = 12;

  /** The codes the gRPC conventions count as a server's errors. */
  static final Set<String> SERVER_ERRORS =
      Set.of("UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS");

  /** Go runtime type names of grpc-go's status errors (current, and releases before 1.2x) and of the HTTP/2 server. */
  static final Set<String> STATUS_ERROR_TYPES = Set.of("*status.Error", "*status.statusError");
  static final String HTTP2_SERVER_TYPE = "*transport.http2Server";
  static final String TCP_ADDR_TYPE = "*net.TCPAddr";

  static final int MAX_PENDING_TRACESTATES = 4096;
  private static final int MAX_TRACESTATE = 512;
  private static final HexFormat HEX = HexFormat.of();

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
          "decode grpc record pid=" + header.pid() + ": unknown record type " + header.type());
    }
  }

  private static ByteBuffer view(ByteBuffer record, RecordHeader header, int size) {
    if (record.remaining() < size) {
      throw new RecordFormatException("decode grpc record pid=" + header.pid() + " type=" + header.type()
          + ": record has " + record.remaining() + " bytes, needs " + size);
    }
    return record.slice(record.position(), size).order(ByteOrder.LITTLE_ENDIAN);
  }

  // ---- server -------------------------------------------------------------------------------------------------

  private void decodeServer(ByteBuffer r, RecordHeader header, TelemetrySink sink) {
    AttributesBuilder attrs = RecordAttributes.builder().put(RPC_SYSTEM_NAME, SYSTEM);
    long raw = r.getLong(Server.STATUS);
    String code = raw >= 0 && raw < CODES.size() ? CODES.get((int) raw) : null;
    String method = method(string(r, Server.METHOD, Server.METHOD_LEN, Server.METHOD_CAP), raw, attrs);
    if (code != null) {
      attrs.put(RPC_RESPONSE_STATUS_CODE, code);
    }
    boolean error = code != null && SERVER_ERRORS.contains(code);
    if (error) {
      attrs.put(ERROR_TYPE, code);
    }
    Optional<String> transport = sink.process().goTypeName(r.getLong(Server.TRANSPORT_TYPE));
    if (transport.isEmpty() || transport.get().equals(HTTP2_SERVER_TYPE)) {
      Endpoint local = endpoint(r, Server.LOCAL, sink);
      Endpoint peer = endpoint(r, Server.PEER, sink);
      if (local != null) {
        attrs.put(SERVER_ADDRESS, local.address()).put(SERVER_PORT, (long) local.port());
      }
      if (peer != null) {
        attrs.put(NETWORK_PEER_ADDRESS, peer.address()).put(NETWORK_PEER_PORT, (long) peer.port())
            .put(NETWORK_TYPE, peer.ipv6() ? "ipv6" : "ipv4");
      }
      if (local != null || peer != null) {
        attrs.put(NETWORK_TRANSPORT, "tcp");
      }
    }
    attrs.put(NETWORK_PROTOCOL_NAME, "http").put(NETWORK_PROTOCOL_VERSION, "2");
    ProbeSpan.Builder span = ProbeSpan.builder(method.equals(OTHER) ? SYSTEM : method, SCOPE)
        .schemaUrl(SCHEMA_URL)
        .kind(SpanKind.SERVER)
        .timestamps(r.getLong(Server.START_NS), r.getLong(Server.END_NS))
        .attributes(attrs.build())
        .status(error ? StatusCode.ERROR : StatusCode.UNSET, "");
    TraceRecord.apply(r, Server.TRACE, span);
    ProbeSpan built = span.build();
    if (built.parentRemote()) {
      String state = takeTraceState(header.pid(), built.parentSpanId());
      if (state != null) {
        built = span.traceState(state).build();
      }
    }
    sink.span(built);
    sink.histogram(GrpcMetrics.SERVER_DURATION, seconds(built),
        GrpcMetrics.serverDurationAttributes(built.attributes()));
  }

  /** An IP endpoint, as the conventions write it. */
  record Endpoint(String address, int port, boolean ipv6) {}

  /**
   * The struct grpc_addr at {@code at}, when it is a TCP address: its runtime type says {@code *net.TCPAddr} (or
   * cannot be told, and the probe's checks of the value held).
   */
  static Endpoint endpoint(ByteBuffer r, int at, TelemetrySink sink) {
    long ipLen = r.getLong(at + Addr.IP_LEN);
    long port = r.getLong(at + Addr.PORT);
    if ((ipLen != 4 && ipLen != 16) || port < 0 || port > 65535) {
      return null;
    }
    Optional<String> type = sink.process().goTypeName(r.getLong(at + Addr.TYPE_ADDR));
    if (type.isPresent() && !type.get().equals(TCP_ADDR_TYPE)) {
      return null;
    }
    byte[] ip = new byte[(int) ipLen];
    r.get(at + Addr.IP, ip);
    try {
      InetAddress a = InetAddress.getByAddress(ip); // an IPv4-mapped IPv6 address comes back as IPv4, as in Go
      String text = a.getHostAddress();
      boolean v6 = a instanceof java.net.Inet6Address;
      if (v6) {
        text = compressIpv6(text);
      }
      return new Endpoint(text, (int) port, v6);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  /** Java writes IPv6 addresses uncompressed ({@code 0:0:0:0:0:0:0:1}); Go and the conventions write {@code ::1}. */
  static String compressIpv6(String full) {
    String[] groups = full.split(":", -1);
    int bestStart = -1;
    int bestLen = 0;
    for (int i = 0; i < groups.length; ) {
      if (groups[i].equals("0")) {
        int j = i;
        while (j < groups.length && groups[j].equals("0")) {
          j++;
        }
        if (j - i > bestLen && j - i > 1) {
          bestStart = i;
          bestLen = j - i;
        }
        i = j;
      } else {
        i++;
      }
    }
    if (bestStart < 0) {
      return full;
    }
    String head = String.join(":", java.util.Arrays.copyOfRange(groups, 0, bestStart));
    String tail = String.join(":", java.util.Arrays.copyOfRange(groups, bestStart + bestLen, groups.length));
    return head + "::" + tail;
  }

  // ---- client -------------------------------------------------------------------------------------------------

  private static void decodeClient(ByteBuffer r, TelemetrySink sink) {
    AttributesBuilder attrs = RecordAttributes.builder().put(RPC_SYSTEM_NAME, SYSTEM);
    int code = clientCode(r, sink);
    String method = method(string(r, Client.METHOD, Client.METHOD_LEN, Client.METHOD_CAP), code, attrs);
    String name = CODES.get(code);
    attrs.put(RPC_RESPONSE_STATUS_CODE, name);
    boolean error = code != 0;
    if (error) {
      attrs.put(ERROR_TYPE, name);
    }
    String target = string(r, Client.TARGET, Client.TARGET_LEN, Client.TARGET_CAP);
    if (target != null && !target.isEmpty() && r.getLong(Client.TARGET_LEN) <= Client.TARGET_CAP) {
      ServerAddress a = ServerAddress.ofTarget(target);
      attrs.put(SERVER_ADDRESS, a.address());
      if (a.port() > 0) {
        attrs.put(SERVER_PORT, (long) a.port());
      }
    }
    ProbeSpan.Builder span = ProbeSpan.builder(method.equals(OTHER) ? SYSTEM : method, SCOPE)
        .schemaUrl(SCHEMA_URL)
        .kind(SpanKind.CLIENT)
        .timestamps(r.getLong(Client.START_NS), r.getLong(Client.END_NS))
        .attributes(attrs.build())
        .status(error ? StatusCode.ERROR : StatusCode.UNSET, "");
    TraceRecord.apply(r, Client.TRACE, span);
    ProbeSpan built = span.build();
    sink.span(built);
    sink.histogram(GrpcMetrics.CLIENT_DURATION, seconds(built),
        GrpcMetrics.clientDurationAttributes(built.attributes()));
  }

  /** The status code a client call ended with (see the class documentation). */
  static int clientCode(ByteBuffer r, TelemetrySink sink) {
    long errorType = r.getLong(Client.ERROR_TYPE);
    if (errorType == 0) {
      return 0;
    }
    long textLen = r.getLong(Client.ERROR_TEXT_LEN);
    if (textLen == 3) {
      byte[] text = new byte[3];
      r.get(Client.ERROR_TEXT, text);
      if (new String(text, StandardCharsets.US_ASCII).equals("EOF")) {
        return 0; // io.EOF: a stream read to its end
      }
    }
    long read = r.getLong(Client.ERROR_CODE);
    Optional<String> type = sink.process().goTypeName(errorType);
    if (type.isPresent() && !STATUS_ERROR_TYPES.contains(type.get())) {
      return UNKNOWN;
    }
    // A status error (or, where the type cannot be told, a value the probe checked like one): its code; an error
    // carrying OK is no status error at all.
    return read > 0 && read < CODES.size() ? (int) read : UNKNOWN;
  }

  // ---- tracestate ---------------------------------------------------------------------------------------------

  private void keepTraceState(ByteBuffer r, RecordHeader header) {
    long len = r.getLong(TraceState.LEN);
    if (len <= 0 || len > TraceState.VALUE_CAP || len > MAX_TRACESTATE) {
      return; // absent, or longer than was copied: not trusted
    }
    byte[] bytes = new byte[(int) len];
    r.get(TraceState.VALUE, bytes);
    String value = new String(bytes, StandardCharsets.US_ASCII).strip();
    if (value.isEmpty() || !value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
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

  /**
   * Puts {@code rpc.method} (and {@code rpc.method_original} when it is {@code _OTHER}) for the raw method
   * {@code /package.Service/Method} and returns the value put.
   */
  static String method(String raw, long code, AttributesBuilder attrs) {
    String m = raw == null ? null : raw.startsWith("/") ? raw.substring(1) : raw;
    if (m == null || m.isEmpty() || m.indexOf('/') <= 0 || code == UNIMPLEMENTED) {
      attrs.put(RPC_METHOD, OTHER);
      if (m != null && !m.isEmpty()) {
        attrs.put(RPC_METHOD_ORIGINAL, m);
      }
      return OTHER;
    }
    attrs.put(RPC_METHOD, m);
    return m;
  }

  private static double seconds(ProbeSpan s) {
    return (s.endKtimeNanos() - s.startKtimeNanos()) / 1e9;
  }

  /** The copied prefix of a Go string, or null when the probe could not read it (negative length). */
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
}
