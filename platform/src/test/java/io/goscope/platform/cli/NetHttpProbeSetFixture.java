package io.goscope.platform.cli;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import io.goscope.platform.gobinary.OffsetTable;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A probe set whose descriptor mirrors the net/http plugin's ({@code NetHttpProbeSet}: same symbol, same required
 * and optional fields), without its BPF object, so the platform's analysis can be tested without the plugin jar.
 * Its bundled offset table is the plugin's YAML, loaded from the source tree by {@link #bundledTable()}.
 */
public final class NetHttpProbeSetFixture implements ProbeSet {
  public static final String ID = "nethttp";
  public static final String SERVE_HTTP = "net/http.serverHandler.ServeHTTP";

  public static final List<StructField> REQUIRED_FIELDS = List.of(
      StructField.std("net/http.Request", "Method", "off_request_method"),
      StructField.std("net/http.Request", "URL", "off_request_url"),
      StructField.std("net/http.Request", "Proto", "off_request_proto"),
      StructField.std("net/http.Request", "Host", "off_request_host"),
      StructField.std("net/http.Request", "RemoteAddr", "off_request_remote_addr"),
      StructField.std("net/http.Request", "TLS", "off_request_tls"),
      StructField.std("net/url.URL", "Path", "off_url_path"),
      StructField.std("net/http.response", "status", "off_response_status"));

  public static final List<StructField> OPTIONAL_FIELDS = List.of(
      StructField.std("net/http.http2responseWriter", "rws", "off_h2_response_writer_rws"),
      StructField.std("net/http.http2responseWriterState", "req", "off_h2_response_writer_state_req"),
      StructField.std("net/http.http2responseWriterState", "status", "off_h2_response_writer_state_status"),
      StructField.std("net/http.response", "req", "off_response_req"));

  private static final ProbeSetDescriptor DESCRIPTOR = descriptorOf();

  private static ProbeSetDescriptor descriptorOf() {
    ProbeSetDescriptor.Builder b = ProbeSetDescriptor.builder(ID)
        .description("Go net/http server spans (test mirror)")
        .bpfObject("bpf/nethttp.bpf.o")
        .probe(new FunctionProbe(SERVE_HTTP, "nethttp_server_entry", "nethttp_server_return",
            REQUIRED_FIELDS.stream().map(StructField::constant).toList(), FailureMode.WARN));
    REQUIRED_FIELDS.forEach(b::field);
    OPTIONAL_FIELDS.forEach(b::field);
    return b.build();
  }

  /** All fields, required first. */
  public static List<StructField> allFields() {
    return DESCRIPTOR.fields();
  }

  /**
   * The plugin's bundled table ({@code plugins/probe-nethttp/src/main/resources/offsets/nethttp-offsets.yaml}),
   * found relative to the platform module's working directory.
   */
  public static OffsetTable bundledTable() {
    for (Path p : List.of(Path.of("../plugins/probe-nethttp/src/main/resources/offsets/nethttp-offsets.yaml"),
        Path.of("plugins/probe-nethttp/src/main/resources/offsets/nethttp-offsets.yaml"))) {
      if (Files.isRegularFile(p)) {
        return OffsetTable.load(p);
      }
    }
    throw new IllegalStateException("nethttp-offsets.yaml not found from " + Path.of("").toAbsolutePath());
  }

  @Override
  public ProbeSetDescriptor descriptor() {
    return DESCRIPTOR;
  }

  @Override
  public RecordDecoder decoder() {
    return (record, header, sink) -> { };
  }

  /** A placeholder BPF object (one byte), so that the agent's runtime wrappers can be built without the plugin. */
  @Override
  public InputStream openResource(String name) {
    return new ByteArrayInputStream(new byte[] {0});
  }
}
