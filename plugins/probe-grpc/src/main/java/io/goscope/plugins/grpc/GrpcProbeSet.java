package io.goscope.plugins.grpc;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import java.util.List;
import org.pf4j.Extension;

/**
 * grpc-go ({@code google.golang.org/grpc}), decoded by {@link GrpcEventDecoder}: one SERVER span per RPC served and
 * one CLIENT span per call through {@code grpc.ClientConn}, unary calls and whole streams alike, with the gRPC status
 * code; the caller's W3C trace context from the call's metadata; and, where a rule enables propagation and the kernel
 * allows writes into the process, a {@code traceparent} in the metadata of outgoing calls that carry none of their
 * own. What each hooked function is and what it reads: {@code src/main/bpf/grpc.bpf.c}.
 *
 * <p>One object serves grpc-go 1.33 to 1.85: the programs tell releases apart by which fields a binary's types have
 * (resolved per binary) and by the data they read, not by the module version, which binaries built in GOPATH mode do
 * not record.
 */
@Extension
public final class GrpcProbeSet implements ProbeSet {
  /** Probe set id, also the plugin id. */
  public static final String ID = "grpc";

  static final String GRPC = "google.golang.org/grpc";
  static final String X_NET = "golang.org/x/net";
  static final String TRANSPORT = GRPC + "/internal/transport";

  /** The function every RPC served passes through. */
  public static final String HANDLE_STREAM_SYMBOL = GRPC + ".(*Server).handleStream";
  /** The functions every client call passes through. */
  public static final String INVOKE_SYMBOL = GRPC + ".(*ClientConn).Invoke";
  public static final String NEW_STREAM_SYMBOL = GRPC + ".(*ClientConn).NewStream";

  static final String SERVER_ENTRY = "grpc_server_entry";
  static final String SERVER_RETURN = "grpc_server_return";

  /** The method of the stream a server handles; without it there is no server span. */
  static final List<StructField> SERVER_FIELDS =
      List.of(
          new StructField(GRPC, TRANSPORT + ".Stream", "method", "off_stream_method"),
          // grpc-go >= 1.69: the handler gets a ServerStream whose first field is (or points to) the Stream.
          new StructField(GRPC, TRANSPORT + ".ServerStream", "Stream", "off_server_stream_stream"));

  /** The status code a server writes and a client's status error carries. */
  static final List<StructField> STATUS_FIELDS =
      List.of(
          new StructField(GRPC, GRPC + "/internal/status.Status", "s", "off_status_s"),
          // A status error: {s *Status} since grpc-go 1.3x, {e *spb.Status} before.
          new StructField(GRPC, GRPC + "/internal/status.Error", "s", "off_error_s"),
          new StructField(GRPC, GRPC + "/internal/status.Error", "e", "off_error_e"),
          // The generated google.rpc.Status: its own module since 2023, part of genproto before.
          new StructField("google.golang.org/genproto/googleapis/rpc",
              "google.golang.org/genproto/googleapis/rpc/status.Status", "Code", "off_spb_status_code"),
          new StructField("google.golang.org/genproto",
              "google.golang.org/genproto/googleapis/rpc/status.Status", "Code", "off_spb_status_code"),
          new StructField("google.golang.org/genproto/googleapis/rpc",
              "google.golang.org/genproto/googleapis/rpc/status.Status", "Message", "off_spb_status_message"),
          new StructField("google.golang.org/genproto",
              "google.golang.org/genproto/googleapis/rpc/status.Status", "Message", "off_spb_status_message"));

  /**
   * The connection's addresses: {@code remoteAddr}/{@code localAddr} fields before grpc-go 1.60, a {@code peer.Peer}
   * since. Optional: without them server spans carry no addresses.
   */
  static final List<StructField> ADDRESS_FIELDS =
      List.of(
          new StructField(GRPC, TRANSPORT + ".http2Server", "remoteAddr", "off_h2s_remote_addr"),
          new StructField(GRPC, TRANSPORT + ".http2Server", "localAddr", "off_h2s_local_addr"),
          new StructField(GRPC, TRANSPORT + ".http2Server", "peer", "off_h2s_peer"),
          new StructField(GRPC, GRPC + "/peer.Peer", "Addr", "off_peer_addr"),
          new StructField(GRPC, GRPC + "/peer.Peer", "LocalAddr", "off_peer_local_addr"),
          StructField.std("net.TCPAddr", "IP", "off_tcpaddr_ip"),
          StructField.std("net.TCPAddr", "Port", "off_tcpaddr_port"));

  /** The incoming trace context: the decoded header fields of the frame that opens a stream. */
  static final List<StructField> INCOMING_FIELDS =
      List.of(new StructField(X_NET, X_NET + "/http2.MetaHeadersFrame", "Fields", "off_meta_fields"));

  /** Client spans: the channel's target for {@code server.address}. */
  static final List<StructField> CLIENT_FIELDS =
      List.of(new StructField(GRPC, GRPC + ".ClientConn", "target", "off_cc_target"));

  /** Outgoing propagation: the HTTP/2 framer and grpc's buffered writer behind it. */
  static final List<StructField> PROPAGATION_FIELDS =
      List.of(
          new StructField(X_NET, X_NET + "/http2.Framer", "w", "off_framer_w"),
          new StructField(X_NET, X_NET + "/http2.Framer", "wbuf", "off_framer_wbuf"),
          new StructField(GRPC, TRANSPORT + ".bufWriter", "buf", "off_bufwriter_buf"),
          new StructField(GRPC, TRANSPORT + ".bufWriter", "bufHandle", "off_bufwriter_buf_handle"),
          new StructField(GRPC, TRANSPORT + ".bufWriter", "offset", "off_bufwriter_offset"));

  private static final ProbeSetDescriptor DESCRIPTOR = buildDescriptor();
  private static final RecordDecoder DECODER = new GrpcEventDecoder();

  private static ProbeSetDescriptor buildDescriptor() {
    ProbeSetDescriptor.Builder b =
        ProbeSetDescriptor.builder(ID)
            .description("grpc-go server and client spans (unary and streams), status codes, W3C trace context")
            .bpfObject("bpf/grpc.bpf.o")
            .offsetTable("offsets/grpc-offsets.yaml")
            .library(HANDLE_STREAM_SYMBOL, INVOKE_SYMBOL, NEW_STREAM_SYMBOL)
            // Server.
            .probe(FunctionProbe.builder(HANDLE_STREAM_SYMBOL).entry(SERVER_ENTRY).ret(SERVER_RETURN)
                .requires("off_stream_method").failureMode(FailureMode.WARN).build())
            .probe(FunctionProbe.builder(TRANSPORT + ".(*http2Server).writeStatus")
                .orSymbol(TRANSPORT + ".(*http2Server).WriteStatus")
                .entry("grpc_server_status").requires("off_spb_status_code").failureMode(FailureMode.WARN).build())
            // grpc.Server.ServeHTTP: the same status from the net/http transport.
            .probe(FunctionProbe.builder(TRANSPORT + ".(*serverHandlerTransport).writeStatus")
                .orSymbol(TRANSPORT + ".(*serverHandlerTransport).WriteStatus")
                .entry("grpc_server_status").requires("off_spb_status_code").failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder(TRANSPORT + ".(*http2Server).operateHeaders")
                .entry("grpc_headers_entry").ret("grpc_headers_return")
                .requires("off_meta_fields").failureMode(FailureMode.WARN).build())
            // Client.
            .probe(FunctionProbe.builder(INVOKE_SYMBOL).entry("grpc_invoke_entry").ret("grpc_invoke_return")
                .failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder(NEW_STREAM_SYMBOL).entry("grpc_new_stream_entry")
                .ret("grpc_new_stream_return").failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder(GRPC + ".newClientStreamWithParams").orSymbol(GRPC + ".newClientStream")
                .ret("grpc_client_stream_created").failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder(GRPC + ".(*clientStream).finish").entry("grpc_client_stream_finish")
                .failureMode(FailureMode.IGNORE).build())
            // Propagation.
            .probe(FunctionProbe.builder(TRANSPORT + ".(*http2Client).createHeaderFields")
                .ret("grpc_inject_fields")
                .requires("off_framer_w", "off_framer_wbuf", "off_bufwriter_offset")
                .feature(FunctionProbe.PROPAGATION).failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder(TRANSPORT + ".(*loopyWriter).writeHeader")
                .entry("grpc_inject_write_header").ret("grpc_inject_write_header_done")
                .requires("off_framer_w", "off_framer_wbuf", "off_bufwriter_offset")
                .feature(FunctionProbe.PROPAGATION).failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder(X_NET + "/http2.(*Framer).WriteHeaders")
                .entry("grpc_inject_frame_entry").ret("grpc_inject_frame_return")
                .requires("off_framer_w", "off_framer_wbuf", "off_bufwriter_offset")
                .feature(FunctionProbe.PROPAGATION).failureMode(FailureMode.IGNORE).build());
    SERVER_FIELDS.forEach(b::field);
    STATUS_FIELDS.forEach(b::field);
    ADDRESS_FIELDS.forEach(b::field);
    INCOMING_FIELDS.forEach(b::field);
    CLIENT_FIELDS.forEach(b::field);
    PROPAGATION_FIELDS.forEach(b::field);
    return b.build();
  }

  @Override
  public ProbeSetDescriptor descriptor() {
    return DESCRIPTOR;
  }

  @Override
  public RecordDecoder decoder() {
    return DECODER;
  }
}
