package io.goscope.plugins.nethttp;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import java.util.List;
import org.pf4j.Extension;

/**
 * Go's net/http, decoded by {@link NetHttpEventDecoder}: one SERVER span per request served (HTTP/1.x and HTTP/2),
 * with the caller's W3C trace context and the ServeMux route; one CLIENT span per {@code http.Transport} round
 * trip, child of the span active on the calling goroutine; and, where a rule enables propagation and the kernel
 * allows writes into the process, a {@code traceparent} on outgoing requests that carry none of their own. What
 * each hooked function is and what it reads: {@code src/main/bpf/nethttp.bpf.c}.
 */
@Extension
public final class NetHttpProbeSet implements ProbeSet {
  /** Probe set id, also the plugin id. */
  public static final String ID = "nethttp";

  /** The function every served request passes through. */
  public static final String SERVE_HTTP_SYMBOL = "net/http.serverHandler.ServeHTTP";
  /** The function every client request passes through. */
  public static final String ROUND_TRIP_SYMBOL = "net/http.(*Transport).roundTrip";

  static final String ENTRY_PROGRAM = "nethttp_server_entry";
  static final String RETURN_PROGRAM = "nethttp_server_return";

  /** Fields without which no server span can be built; missing any of them skips the server probe (WARN). */
  static final List<StructField> REQUIRED_FIELDS =
      List.of(
          StructField.std("net/http.Request", "Method", "off_request_method"),
          StructField.std("net/http.Request", "URL", "off_request_url"),
          StructField.std("net/http.Request", "Proto", "off_request_proto"),
          StructField.std("net/http.Request", "Host", "off_request_host"),
          StructField.std("net/http.Request", "RemoteAddr", "off_request_remote_addr"),
          StructField.std("net/http.Request", "TLS", "off_request_tls"),
          StructField.std("net/url.URL", "Path", "off_url_path"),
          StructField.std("net/http.response", "status", "off_response_status"));

  /**
   * Fields for the status code of requests whose Proto is HTTP/2.0: the bundled h2 server's response writer (its
   * state's status, and its back pointer to the request that identifies it), and the HTTP/1 writer's back pointer,
   * which identifies an h2c preface ({@code PRI * HTTP/2.0}) served by the HTTP/1 server. Optional: when they cannot
   * be resolved the BPF constants keep their sentinel default and such spans carry no status code.
   */
  static final List<StructField> OPTIONAL_FIELDS =
      List.of(
          StructField.std("net/http.http2responseWriter", "rws", "off_h2_response_writer_rws"),
          StructField.std("net/http.http2responseWriterState", "req", "off_h2_response_writer_state_req"),
          StructField.std(
              "net/http.http2responseWriterState", "status", "off_h2_response_writer_state_status"),
          StructField.std("net/http.response", "req", "off_response_req"));

  /** The incoming trace context: raw HTTP/1.x header bytes in the bufio buffer, and the decoded HTTP/2 fields. */
  static final List<StructField> INCOMING_FIELDS =
      List.of(
          StructField.std("net/textproto.Reader", "R", "off_textproto_reader_r"),
          StructField.std("bufio.Reader", "buf", "off_bufio_reader_buf"),
          StructField.std("bufio.Reader", "r", "off_bufio_reader_r"),
          StructField.std("bufio.Reader", "w", "off_bufio_reader_w"),
          // Two names of one field: net/http's bundled HTTP/2 before Go 1.27, net/http/internal/http2 from 1.27.
          StructField.std("net/http.http2MetaHeadersFrame", "Fields", "off_h2_meta_fields"),
          StructField.std("net/http/internal/http2.MetaHeadersFrame", "Fields", "off_h2_meta_fields"));

  /** Client spans. */
  static final List<StructField> CLIENT_FIELDS =
      List.of(
          StructField.std("net/http.Request", "Header", "off_request_header"),
          StructField.std("net/url.URL", "Scheme", "off_url_scheme"),
          StructField.std("net/url.URL", "User", "off_url_user"),
          StructField.std("net/url.URL", "Host", "off_url_host"),
          StructField.std("net/url.URL", "RawQuery", "off_url_raw_query"),
          StructField.std("net/http.Response", "StatusCode", "off_response_status_code"),
          StructField.std("net/http.Response", "Proto", "off_response_proto"));

  /** Outgoing propagation: the transport's buffered writer and the HTTP/2 framer. */
  static final List<StructField> PROPAGATION_FIELDS =
      List.of(
          StructField.std("bufio.Writer", "buf", "off_bufio_writer_buf"),
          StructField.std("bufio.Writer", "n", "off_bufio_writer_n"),
          StructField.std("net/http.http2Framer", "w", "off_h2_framer_w"),
          StructField.std("net/http/internal/http2.Framer", "w", "off_h2_framer_w"),
          StructField.std("net/http.http2Framer", "wbuf", "off_h2_framer_wbuf"),
          StructField.std("net/http/internal/http2.Framer", "wbuf", "off_h2_framer_wbuf"));

  private static final ProbeSetDescriptor DESCRIPTOR = buildDescriptor();
  private static final RecordDecoder DECODER = new NetHttpEventDecoder();

  private static ProbeSetDescriptor buildDescriptor() {
    ProbeSetDescriptor.Builder b =
        ProbeSetDescriptor.builder(ID)
            .description("Go net/http server and client spans, W3C trace context")
            .bpfObject("bpf/nethttp.bpf.o")
            .offsetTable("offsets/nethttp-offsets.yaml")
            .probe(FunctionProbe.builder(SERVE_HTTP_SYMBOL).entry(ENTRY_PROGRAM).ret(RETURN_PROGRAM)
                .requires(REQUIRED_FIELDS.stream().map(StructField::constant).toList())
                .failureMode(FailureMode.WARN).build())
            // Go 1.19-1.26 (and backports): a function; older releases: a method of the same receiver.
            .probe(FunctionProbe.builder("net/textproto.readMIMEHeader")
                .orSymbol("net/textproto.(*Reader).readMIMEHeader")
                .entry("nethttp_read_headers")
                .requires("off_textproto_reader_r", "off_bufio_reader_buf", "off_bufio_reader_r",
                    "off_bufio_reader_w")
                .failureMode(FailureMode.WARN).build())
            .probe(FunctionProbe.builder("net/http.(*http2serverConn).processHeaders")
                .orSymbol("net/http/internal/http2.(*serverConn).processHeaders")
                .entry("nethttp_h2_headers_entry").ret("nethttp_h2_headers_return")
                .requires("off_h2_meta_fields")
                .failureMode(FailureMode.IGNORE).build())
            // The matched pattern comes back as the second result (registers 3 and 4): Go 1.22+ and older muxes.
            .probe(FunctionProbe.builder("net/http.(*ServeMux).findHandler")
                .orSymbol("net/http.(*ServeMux).handler")
                .ret("nethttp_route_return")
                .failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder(ROUND_TRIP_SYMBOL).entry("nethttp_client_entry")
                .ret("nethttp_client_return")
                .requires("off_request_method", "off_request_url", "off_url_path")
                .failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder("net/http.Header.writeSubset")
                .entry("nethttp_inject_h1_entry").ret("nethttp_inject_h1_return")
                .requires("off_bufio_writer_buf", "off_bufio_writer_n", "off_request_header")
                .feature(FunctionProbe.PROPAGATION).failureMode(FailureMode.IGNORE).build())
            // Under kernel lockdown: the header is inserted by the host's socket programs; the request is prepared
            // when it is written and the writing thread armed when the buffered request goes to the connection.
            .probe(FunctionProbe.builder("net/http.(*Request).write")
                .entry("nethttp_arm_request")
                .requires("off_request_header", "off_request_method")
                .feature(FunctionProbe.SOCKET_PROPAGATION).failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder("net/http.persistConnWriter.Write")
                .entry("nethttp_arm_flush")
                .feature(FunctionProbe.SOCKET_PROPAGATION).failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder("vendor/golang.org/x/net/http2/hpack.(*Encoder).WriteField")
                .entry("nethttp_inject_h2_field")
                .feature(FunctionProbe.PROPAGATION).failureMode(FailureMode.IGNORE).build())
            .probe(FunctionProbe.builder("net/http.(*http2Framer).WriteHeaders")
                .orSymbol("net/http/internal/http2.(*Framer).WriteHeaders")
                .entry("nethttp_inject_h2_entry").ret("nethttp_inject_h2_return")
                .requires("off_h2_framer_w", "off_h2_framer_wbuf", "off_bufio_writer_buf", "off_bufio_writer_n")
                .feature(FunctionProbe.PROPAGATION).failureMode(FailureMode.IGNORE).build());
    REQUIRED_FIELDS.forEach(b::field);
    OPTIONAL_FIELDS.forEach(b::field);
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
