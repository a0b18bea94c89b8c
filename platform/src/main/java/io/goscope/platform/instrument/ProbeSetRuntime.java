package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import io.goscope.platform.gobinary.OffsetTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A probe set as the agent runs it: its host-assigned source id (written into every record header by its BPF
 * programs), its descriptor, its decoder and its BPF object's bytes, read once from the plugin jar: the object built
 * for this host's architecture ({@link BpfObjectResources}) when the plugin has one, else the plain resource.
 */
public final class ProbeSetRuntime {
  private static final Logger LOG = LoggerFactory.getLogger(ProbeSetRuntime.class);
  private final int sourceId;
  private final ProbeSet probeSet;
  private final ProbeSetDescriptor descriptor;
  private final RecordDecoder decoder;
  private final byte[] bpfObject;
  private final List<OffsetTable> offsetTables;

  private ProbeSetRuntime(int sourceId, ProbeSet probeSet, byte[] bpfObject) {
    this.sourceId = sourceId;
    this.probeSet = probeSet;
    this.descriptor = probeSet.descriptor();
    this.decoder = requireNonNull(probeSet.decoder(), "decoder of " + descriptor.id());
    this.bpfObject = bpfObject;
    this.offsetTables = offsetTablesOf(probeSet);
  }

  /**
   * The probe set's bundled offset table, parsed; empty when it declares none.
   *
   * @throws io.goscope.platform.gobinary.OffsetTableFormatException naming the resource and line when malformed
   */
  public static List<OffsetTable> offsetTablesOf(ProbeSet probeSet) {
    String resource = probeSet.descriptor().offsetTableResource();
    return resource == null
        ? List.of()
        : List.of(OffsetTable.loadResource(probeSet.getClass().getClassLoader(), resource));
  }

  /** The probe set's bundled offset tables. */
  public List<OffsetTable> offsetTables() {
    return offsetTables;
  }

  /**
   * Reads the set's BPF object from its plugin.
   *
   * @throws IOException naming the probe set and resource when the object cannot be read
   */
  public static ProbeSetRuntime load(int sourceId, ProbeSet probeSet) throws IOException {
    if (sourceId <= 0 || sourceId > 0xffff) {
      throw new IllegalArgumentException("source id out of range: " + sourceId);
    }
    ProbeSetDescriptor d = probeSet.descriptor();
    String arch = BpfObjectResources.hostArch();
    if (arch != null) {
      String archResource = BpfObjectResources.forArch(d.bpfObjectResource(), arch);
      try {
        byte[] bytes = read(probeSet, archResource);
        LOG.debug("bpf object probeSet={} resource={}", d.id(), archResource);
        return new ProbeSetRuntime(sourceId, probeSet, bytes);
      } catch (IOException e) {
        LOG.info("probe set {} has no BPF object for {} ({}); loading {} as built for the plugin's build host",
            d.id(), arch, archResource, d.bpfObjectResource());
      }
    }
    return new ProbeSetRuntime(sourceId, probeSet, read(probeSet, d.bpfObjectResource()));
  }

  private static byte[] read(ProbeSet probeSet, String resource) throws IOException {
    try (InputStream in = probeSet.openResource(resource)) {
      byte[] bytes = in.readNBytes(64 << 20);
      if (bytes.length == 0) {
        throw new IOException("probe set " + probeSet.descriptor().id() + ": empty BPF object " + resource);
      }
      return bytes;
    }
  }

  public int sourceId() {
    return sourceId;
  }

  public ProbeSet probeSet() {
    return probeSet;
  }

  public ProbeSetDescriptor descriptor() {
    return descriptor;
  }

  public String id() {
    return descriptor.id();
  }

  public RecordDecoder decoder() {
    return decoder;
  }

  /** The BPF ELF object; callers must not modify it. */
  byte[] bpfObject() {
    return bpfObject;
  }
}
