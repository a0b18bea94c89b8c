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
 * Server spans for Go's net/http: one uprobe pair on {@code net/http.serverHandler.ServeHTTP}, the function every
 * HTTP/1.x and bundled HTTP/2 request passes through, decoded by {@link NetHttpEventDecoder}.
 */
@Extension
public final class NetHttpProbeSet implements ProbeSet {
  /** Probe set id, also the plugin id. */
  public static final String ID = "nethttp";

  /** The hooked Go function. */
  public static final String SERVE_HTTP_SYMBOL = "net/http.serverHandler.ServeHTTP";

  static final String ENTRY_PROGRAM = "nethttp_server_entry";
  static final String RETURN_PROGRAM = "nethttp_server_return";

  /** Fields without which no span can be built; missing any of them skips the probe (WARN). */
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

  private static final ProbeSetDescriptor DESCRIPTOR = buildDescriptor();
  private static final RecordDecoder DECODER = new NetHttpEventDecoder();

  private static ProbeSetDescriptor buildDescriptor() {
    ProbeSetDescriptor.Builder b =
        ProbeSetDescriptor.builder(ID)
            .description("Go net/http server spans")
            .bpfObject("bpf/nethttp.bpf.o")
            .offsetTable("offsets/nethttp-offsets.yaml")
            .probe(
                new FunctionProbe(
                    SERVE_HTTP_SYMBOL,
                    ENTRY_PROGRAM,
                    RETURN_PROGRAM,
                    REQUIRED_FIELDS.stream().map(StructField::constant).toList(),
                    FailureMode.WARN));
    REQUIRED_FIELDS.forEach(b::field);
    OPTIONAL_FIELDS.forEach(b::field);
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
