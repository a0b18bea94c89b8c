package io.goscope.platform.cli;

import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.plugins.nethttp.NetHttpProbeSet;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The net/http plugin's probe set ({@link NetHttpProbeSet}: its real descriptor, symbol and fields) without its BPF
 * object, so the platform's analysis can be tested without loading the plugin jar. Its bundled offset table is the
 * plugin's YAML, loaded from the source tree by {@link #bundledTable()}.
 */
public final class NetHttpProbeSetFixture implements ProbeSet {
  public static final String ID = NetHttpProbeSet.ID;
  public static final String SERVE_HTTP = NetHttpProbeSet.SERVE_HTTP_SYMBOL;

  private static final ProbeSetDescriptor DESCRIPTOR = new NetHttpProbeSet().descriptor();

  /** The fields the server probe ({@code serverHandler.ServeHTTP}) cannot work without. */
  public static final List<StructField> REQUIRED_FIELDS = DESCRIPTOR.probes().get(0).requiredConstants().stream()
      .map(c -> DESCRIPTOR.fields().stream().filter(f -> f.constant().equals(c)).findFirst().orElseThrow())
      .distinct().toList();

  /** The descriptor's other fields. */
  public static final List<StructField> OPTIONAL_FIELDS =
      DESCRIPTOR.fields().stream().filter(f -> !REQUIRED_FIELDS.contains(f)).toList();

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

  /**
   * A placeholder BPF object (one byte), so that the agent's runtime wrappers can be built without the plugin's
   * compiled object; every other resource (the offset table) is the plugin's own.
   */
  @Override
  public InputStream openResource(String name) throws java.io.IOException {
    if (name.equals(DESCRIPTOR.bpfObjectResource())) {
      return new ByteArrayInputStream(new byte[] {0});
    }
    return new NetHttpProbeSet().openResource(name);
  }
}
