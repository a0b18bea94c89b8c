package io.goscope.plugins.nethttp;

/**
 * Byte layouts of the records in {@code src/main/bpf/nethttp_event.h} (see its table for every field's meaning).
 * This is the single Java copy of those layouts; {@code NetHttpEventLayoutTest} compiles the C header and checks
 * every offset and size below against {@code offsetof}/{@code sizeof}.
 */
final class NetHttpEventLayout {
  static final int HEADER = 0;
  static final int HEADER_SIZE = 8;

  /** {@code struct nethttp_server_event}. */
  static final class Server {
    static final int TYPE = 1;
    static final int START_NS = 8;
    static final int END_NS = 16;
    static final int TRACE = 24;
    static final int STATUS = 64;
    static final int METHOD_LEN = 72;
    static final int PATH_LEN = 80;
    static final int PROTO_LEN = 88;
    static final int HOST_LEN = 96;
    static final int REMOTE_ADDR_LEN = 104;
    static final int ROUTE_LEN = 112;
    static final int TLS = 120;
    static final int METHOD = 128;
    static final int METHOD_CAP = 16;
    static final int PATH = 144;
    static final int PATH_CAP = 128;
    static final int PROTO = 272;
    static final int PROTO_CAP = 16;
    static final int HOST = 288;
    static final int HOST_CAP = 64;
    static final int REMOTE_ADDR = 352;
    static final int REMOTE_ADDR_CAP = 64;
    static final int ROUTE = 416;
    static final int ROUTE_CAP = 64;
    static final int SIZE = 480;

    private Server() {}
  }

  /** {@code struct nethttp_client_event}. */
  static final class Client {
    static final int TYPE = 2;
    static final int START_NS = 8;
    static final int END_NS = 16;
    static final int TRACE = 24;
    static final int STATUS = 64;
    static final int ERROR_TYPE = 72;
    static final int METHOD_LEN = 80;
    static final int SCHEME_LEN = 88;
    static final int HOST_LEN = 96;
    static final int PATH_LEN = 104;
    static final int QUERY_LEN = 112;
    static final int PROTO_LEN = 120;
    static final int USERINFO = 128;
    static final int PROPAGATION = 129;
    static final int METHOD = 136;
    static final int METHOD_CAP = 16;
    static final int SCHEME = 152;
    static final int SCHEME_CAP = 16;
    static final int HOST = 168;
    static final int HOST_CAP = 64;
    static final int PATH = 232;
    static final int PATH_CAP = 128;
    static final int QUERY = 360;
    static final int QUERY_CAP = 128;
    static final int PROTO = 488;
    static final int PROTO_CAP = 16;
    static final int SIZE = 504;

    /** {@code NETHTTP_PROPAGATION_*}. */
    static final int PROPAGATION_NONE = 0;
    static final int PROPAGATION_INJECTED = 1;
    static final int PROPAGATION_OWN = 2;
    static final int PROPAGATION_UNSURE = 3;
    static final int PROPAGATION_UNAVAILABLE = 4;
    static final int PROPAGATION_MISSED = 5;

    private Client() {}
  }

  /** {@code struct nethttp_tracestate_event}. */
  static final class TraceState {
    static final int TYPE = 3;
    static final int PARENT_SPAN_ID = 8;
    static final int LEN = 16;
    static final int VALUE = 24;
    static final int VALUE_CAP = 256;
    static final int SIZE = 280;

    private TraceState() {}
  }

  private NetHttpEventLayout() {}
}
