package io.goscope.plugins.grpc;

/**
 * Byte layouts of the records in {@code src/main/bpf/grpc_event.h} (see its table for every field's meaning). This is
 * the single Java copy of those layouts; {@code GrpcEventLayoutTest} compiles the C header and checks every offset
 * and size below against {@code offsetof}/{@code sizeof}.
 */
final class GrpcEventLayout {
  static final int HEADER = 0;
  static final int HEADER_SIZE = 8;

  /** {@code struct grpc_addr}, relative to its start. */
  static final class Addr {
    static final int TYPE_ADDR = 0;
    static final int PORT = 8;
    static final int IP_LEN = 16;
    static final int IP = 24;
    static final int IP_CAP = 16;
    static final int SIZE = 40;

    private Addr() {}
  }

  /** {@code struct grpc_server_event}. */
  static final class Server {
    static final int TYPE = 1;
    static final int START_NS = 8;
    static final int END_NS = 16;
    static final int TRACE = 24;
    static final int STATUS = 64;
    static final int TRANSPORT_TYPE = 72;
    static final int METHOD_LEN = 80;
    static final int PEER = 88;
    static final int LOCAL = 128;
    static final int METHOD = 168;
    static final int METHOD_CAP = 128;
    static final int SIZE = 296;

    private Server() {}
  }

  /** {@code struct grpc_client_event}. */
  static final class Client {
    static final int TYPE = 2;
    static final int START_NS = 8;
    static final int END_NS = 16;
    static final int TRACE = 24;
    static final int ERROR_TYPE = 64;
    static final int ERROR_CODE = 72;
    static final int ERROR_TEXT_LEN = 80;
    static final int METHOD_LEN = 88;
    static final int TARGET_LEN = 96;
    static final int STREAM = 104;
    static final int PROPAGATION = 105;
    static final int ERROR_TEXT = 112;
    static final int ERROR_TEXT_CAP = 16;
    static final int METHOD = 128;
    static final int METHOD_CAP = 128;
    static final int TARGET = 256;
    static final int TARGET_CAP = 64;
    static final int SIZE = 320;

    /** {@code GRPC_PROPAGATION_*}. */
    static final int PROPAGATION_NONE = 0;
    static final int PROPAGATION_INJECTED = 1;
    static final int PROPAGATION_OWN = 2;
    static final int PROPAGATION_UNSURE = 3;

    private Client() {}
  }

  /** {@code struct grpc_tracestate_event}. */
  static final class TraceState {
    static final int TYPE = 3;
    static final int PARENT_SPAN_ID = 8;
    static final int LEN = 16;
    static final int VALUE = 24;
    static final int VALUE_CAP = 256;
    static final int SIZE = 280;

    private TraceState() {}
  }

  private GrpcEventLayout() {}
}
