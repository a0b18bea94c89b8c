package io.goscope.api;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Declarative description of a probe set: what it hooks, which struct fields and version-dependent values it needs
 * and where its BPF object and offset table live. The host does all resolving, loading and attaching from this
 * description.
 *
 * <p>The contract with the BPF object, which the probe-set kit's headers ({@code goscope.h},
 * {@code goscope_context.h}) fulfil when included:
 *
 * <ul>
 *   <li>every map whose name starts with {@value #SHARED_MAP_PREFIX} is owned by the host: it creates each once and
 *       hands the same map to every object before load (the ring buffer {@value #RING_BUFFER_MAP}, the loss
 *       counters, the selected processes and the trace context of every goroutine), so all probe sets share one
 *       trace context and one ring buffer;
 *   <li>the set's other maps are created once per probe set and shared by all of its objects (one object per
 *       distinct set of constants), so per-call state is keyed by process and goroutine, never per object;
 *   <li>{@code const volatile __u16 goscope_source} receives the source id the host assigns the set, which the
 *       programs copy into every record header; {@code const volatile} globals named {@code goscope_*} are set by the
 *       host (e.g. the goroutine id offset);
 *   <li>every constant the description names (fields, {@link #constants()}, {@link #versionedConstants()}) must
 *       exist in the object: a missing one is an error naming it, never a silent zero.
 * </ul>
 */
public final class ProbeSetDescriptor {
  /** Name of the ring-buffer map every probe object shares with the host. */
  public static final String RING_BUFFER_MAP = "goscope_events";

  /** Name of the {@code const volatile __u16} global that receives the host-assigned source id. */
  public static final String SOURCE_CONSTANT = "goscope_source";

  /** Maps (and {@code const volatile} globals) whose names start with this prefix belong to the host. */
  public static final String SHARED_MAP_PREFIX = "goscope_";

  private final String id;
  private final String description;
  private final String bpfObjectResource;
  @Nullable private final String offsetTableResource;
  private final List<FunctionProbe> probes;
  private final List<StructField> fields;
  private final Map<String, Long> constants;
  private final List<VersionedConstant> versionedConstants;
  private final List<String> librarySymbols;

  private ProbeSetDescriptor(Builder b) {
    this.id = requireNonNull(b.id, "id");
    this.description = b.description == null ? id : b.description;
    this.bpfObjectResource = requireNonNull(b.bpfObjectResource, "bpfObjectResource");
    this.offsetTableResource = b.offsetTableResource;
    this.probes = List.copyOf(b.probes);
    this.fields = List.copyOf(b.fields);
    this.constants = Map.copyOf(b.constants);
    this.versionedConstants = List.copyOf(b.versionedConstants);
    this.librarySymbols = List.copyOf(b.librarySymbols);
    if (probes.isEmpty()) {
      throw new IllegalArgumentException("probe set " + id + " declares no probes");
    }
  }

  public static Builder builder(String id) {
    return new Builder(id);
  }

  /** Short stable id, used in configuration and logs, e.g. {@code nethttp}. */
  public String id() {
    return id;
  }

  public String description() {
    return description;
  }

  /** Classpath resource (in the plugin jar) holding the compiled BPF ELF object. */
  public String bpfObjectResource() {
    return bpfObjectResource;
  }

  /**
   * Classpath resource holding the bundled offset table (YAML, format: {@link OffsetTableFormat}), or null when the
   * set relies on DWARF and type metadata only.
   */
  @Nullable
  public String offsetTableResource() {
    return offsetTableResource;
  }

  public List<FunctionProbe> probes() {
    return probes;
  }

  public List<StructField> fields() {
    return fields;
  }

  /** Extra {@code const volatile} globals and their values (tunables), set before load. */
  public Map<String, Long> constants() {
    return constants;
  }

  /** {@code const volatile} globals whose value depends on a module's version, resolved per binary. */
  public List<VersionedConstant> versionedConstants() {
    return versionedConstants;
  }

  /** Every constant name the description sets: fields, constants and versioned constants. */
  public List<String> constantNames() {
    List<String> names = new ArrayList<>();
    fields.forEach(f -> names.add(f.constant()));
    names.addAll(constants.keySet());
    versionedConstants.forEach(v -> names.add(v.constant()));
    return names;
  }

  @Override
  public String toString() {
    return "ProbeSet{" + id + ", probes=" + probes.size() + ", fields=" + fields.size() + "}";
  }

  /**
   * Functions of which a binary must link at least one for the set to apply at all (the instrumented library's
   * entry points); empty (the default) when the set applies to every Go binary. A binary that links none of them
   * does not use the library: the set is not applicable to it, which the host reports as such, without a warning
   * or a failure.
   */
  public List<String> librarySymbols() {
    return librarySymbols;
  }

  /** Builder for {@link ProbeSetDescriptor}. */
  public static final class Builder {
    private final String id;
    @Nullable private String description;
    @Nullable private String bpfObjectResource;
    @Nullable private String offsetTableResource;
    private final List<FunctionProbe> probes = new ArrayList<>();
    private final List<StructField> fields = new ArrayList<>();
    private final Map<String, Long> constants = new TreeMap<>();
    private final List<VersionedConstant> versionedConstants = new ArrayList<>();
    private final List<String> librarySymbols = new ArrayList<>();

    private Builder(String id) {
      this.id = requireNonNull(id, "id");
    }

    public Builder description(String description) {
      this.description = requireNonNull(description, "description");
      return this;
    }

    public Builder bpfObject(String resource) {
      this.bpfObjectResource = requireNonNull(resource, "resource");
      return this;
    }

    public Builder offsetTable(String resource) {
      this.offsetTableResource = requireNonNull(resource, "resource");
      return this;
    }

    public Builder probe(FunctionProbe probe) {
      probes.add(requireNonNull(probe, "probe"));
      return this;
    }

    public Builder field(StructField field) {
      fields.add(requireNonNull(field, "field"));
      return this;
    }

    public Builder constant(String name, long value) {
      constants.put(requireNonNull(name, "name"), value);
      return this;
    }

    public Builder versionedConstant(VersionedConstant constant) {
      versionedConstants.add(requireNonNull(constant, "constant"));
      return this;
    }

    /** See {@link ProbeSetDescriptor#librarySymbols()}. */
    public Builder library(String... symbols) {
      for (String s : symbols) {
        librarySymbols.add(requireNonNull(s, "symbol"));
      }
      return this;
    }

    public ProbeSetDescriptor build() {
      return new ProbeSetDescriptor(this);
    }
  }
}
