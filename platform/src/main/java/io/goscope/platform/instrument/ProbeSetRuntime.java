package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FunctionProbe;
import io.goscope.api.GoscopeException;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.platform.sys.BpfObject;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A probe set as the agent runs it: its host-assigned source id (written into every record header by its BPF
 * programs), its descriptor, its decoder, its BPF object's bytes and its offset tables, each read once from the
 * plugin through {@link ProbeSet#openResource}.
 *
 * <p>{@link #load} checks the description against the object before anything reaches the kernel: every constant the
 * description sets (fields, constants, versioned constants) must be a {@code const volatile} global of the object,
 * and every program it names must exist, so that a misspelt name is an error naming it rather than a silent zero.
 */
public final class ProbeSetRuntime {
  /** Source ids are bits of struct gs_process.sources (goscope_context.h): 1..63; 0 is the host's. */
  public static final int MAX_SOURCE_ID = 63;

  private final int sourceId;
  private final ProbeSet probeSet;
  private final ProbeSetDescriptor descriptor;
  private final RecordDecoder decoder;
  private final byte[] bpfObject;
  private final List<OffsetTable> offsetTables;
  private final Set<String> objectConstants;

  private ProbeSetRuntime(int sourceId, ProbeSet probeSet, byte[] bpfObject, List<OffsetTable> offsetTables,
      Set<String> objectConstants) {
    this.sourceId = sourceId;
    this.probeSet = probeSet;
    this.descriptor = probeSet.descriptor();
    this.decoder = requireNonNull(probeSet.decoder(), "decoder of " + descriptor.id());
    this.bpfObject = bpfObject;
    this.offsetTables = offsetTables;
    this.objectConstants = Set.copyOf(objectConstants);
  }

  /**
   * The probe set's bundled offset table, parsed; empty when it declares none.
   *
   * @throws io.goscope.platform.gobinary.OffsetTableFormatException naming the resource and line when malformed
   * @throws IOException when the resource cannot be read
   */
  public static List<OffsetTable> offsetTablesOf(ProbeSet probeSet) throws IOException {
    String resource = probeSet.descriptor().offsetTableResource();
    if (resource == null) {
      return List.of();
    }
    String name = probeSet.descriptor().id() + ":" + resource;
    try (InputStream in = probeSet.openResource(resource)) {
      byte[] bytes = in.readNBytes(OffsetTable.MAX_CHARS + 1);
      if (bytes.length > OffsetTable.MAX_CHARS) {
        throw new io.goscope.platform.gobinary.OffsetTableFormatException(name, 0,
            "larger than " + OffsetTable.MAX_CHARS + " bytes");
      }
      return List.of(OffsetTable.parse(name,
          new java.io.StringReader(new String(bytes, java.nio.charset.StandardCharsets.UTF_8))));
    }
  }

  /** The probe set's bundled offset tables. */
  public List<OffsetTable> offsetTables() {
    return offsetTables;
  }

  /**
   * Reads the set's BPF object and offset table from its plugin and checks the description against the object.
   *
   * @throws IOException naming the probe set and resource when the object cannot be read
   * @throws GoscopeException naming the constant or program the object lacks
   */
  public static ProbeSetRuntime load(int sourceId, ProbeSet probeSet) throws IOException {
    if (sourceId <= 0 || sourceId > MAX_SOURCE_ID) {
      throw new IllegalArgumentException("source id out of range 1.." + MAX_SOURCE_ID + ": " + sourceId);
    }
    ProbeSetDescriptor d = probeSet.descriptor();
    byte[] bytes = objectBytes(probeSet);
    Set<String> constants;
    try (BpfObject object = BpfObject.open(d.id(), bytes)) {
      constants = object.constantNames();
      check(d, object, constants);
    }
    return new ProbeSetRuntime(sourceId, probeSet, bytes, offsetTablesOf(probeSet), constants);
  }

  /**
   * A runtime whose object is neither read nor checked: for code that only routes and decodes records (tests of the
   * dispatcher). Never load it.
   */
  static ProbeSetRuntime decoderOnly(int sourceId, ProbeSet probeSet) {
    return new ProbeSetRuntime(sourceId, probeSet, new byte[0], List.of(), Set.of());
  }

  /** The bytes of the set's BPF object for this host's architecture (see {@link #openObject}). */
  static byte[] objectBytes(ProbeSet probeSet) throws IOException {
    byte[] bytes;
    try (InputStream in = openObject(probeSet)) {
      bytes = in.readNBytes(64 << 20);
    }
    if (bytes.length == 0) {
      throw new IOException("probe set " + probeSet.descriptor().id() + ": empty BPF object "
          + probeSet.descriptor().bpfObjectResource());
    }
    return bytes;
  }

  /**
   * The object built for this host's architecture ({@link BpfObjectResources}: {@code bpf/<arch>/<name>}) when the
   * plugin has one, else the plain resource (plugins built before arm64 support).
   */
  private static InputStream openObject(ProbeSet probeSet) throws IOException {
    String resource = probeSet.descriptor().bpfObjectResource();
    String arch = BpfObjectResources.hostArch();
    if (arch != null) {
      try {
        return probeSet.openResource(BpfObjectResources.forArch(resource, arch));
      } catch (IOException e) {
        org.slf4j.LoggerFactory.getLogger(ProbeSetRuntime.class).info("probe set {} has no BPF object for {}; "
            + "loading {} as built for the plugin's build host", probeSet.descriptor().id(), arch, resource);
      }
    }
    return probeSet.openResource(resource);
  }

  private static void check(ProbeSetDescriptor d, BpfObject object, Set<String> constants) {
    List<String> problems = new ArrayList<>();
    if (!constants.contains(ProbeSetDescriptor.SOURCE_CONSTANT)) {
      problems.add("no const volatile " + ProbeSetDescriptor.SOURCE_CONSTANT);
    }
    for (String c : new LinkedHashSet<>(d.constantNames())) {
      if (!constants.contains(c)) {
        problems.add("constant " + c + " is not a const volatile global of the object");
      }
    }
    Set<String> programs = object.programNames();
    for (FunctionProbe p : d.probes()) {
      for (String program : new String[] {p.entryProgram(), p.returnProgram()}) {
        if (program != null && !programs.contains(program)) {
          problems.add("probe " + p.symbol() + ": program " + program + " is not in the object");
        }
      }
      for (String c : p.requiredConstants()) {
        if (!d.constantNames().contains(c) && !constants.contains(c)) {
          problems.add("probe " + p.symbol() + " requires " + c + ", which the description does not declare");
        }
      }
    }
    if (!object.mapNames().contains(ProbeSetDescriptor.RING_BUFFER_MAP)) {
      problems.add("no ring buffer map " + ProbeSetDescriptor.RING_BUFFER_MAP);
    }
    if (!problems.isEmpty()) {
      throw new GoscopeException("probe set " + d.id() + " (" + d.bpfObjectResource() + "): "
          + String.join("; ", problems));
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

  /** Whether the object declares this {@code const volatile} global (host constants are set only where declared). */
  public boolean hasConstant(String constant) {
    return objectConstants.contains(constant);
  }

  /** The BPF ELF object; callers must not modify it. */
  byte[] bpfObject() {
    return bpfObject;
  }
}
