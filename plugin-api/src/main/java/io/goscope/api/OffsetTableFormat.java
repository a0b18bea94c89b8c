package io.goscope.api;

/**
 * The offset-table format: struct field offsets as data, which a probe set bundles (named by
 * {@link ProbeSetDescriptor#offsetTableResource()}, read through {@link ProbeSet#openResource}) and operators drop
 * into the agent's {@code GOSCOPE_OFFSETS_DIR}. This class only documents the format (and names its keys); the
 * agent's parser is {@code io.goscope.platform.gobinary.OffsetTable}, its generator
 * {@code io.goscope.platform.gobinary.OffsetTableGenerator}.
 *
 * <h2>Where tables come in</h2>
 *
 * For each {@link StructField} of a probe set the host resolves the offset per binary, trying in order: the binary's
 * DWARF, its Go runtime type metadata (which even stripped binaries keep for types reachable through type links
 * and itabs), the probe set's bundled table, then the files of {@code GOSCOPE_OFFSETS_DIR} in name order. The first
 * answer wins, and which source gave it is logged and shown by {@code goscope inspect}. A table therefore matters
 * for fields the binary itself does not describe. When nothing answers, the field is unresolved: its constant keeps
 * the default of the BPF source and every {@link FunctionProbe} that {@link FunctionProbe#requiredConstants()
 * requires} it is skipped according to its {@link FailureMode}.
 *
 * <h2>Format</h2>
 *
 * <pre>
 * # comments are allowed anywhere
 * fields:
 *   - module: "std"                  # the standard library: versions are Go toolchain versions
 *     struct: "net/url.URL"          # import path + "." + type name, as the Go toolchain spells it
 *     field: "RawQuery"              # the Go field name, exported or not
 *     versions:
 *       - {from: "1.17.0", to: "1.26.0", offset: 96, source: "dwarf go1.19.8 app"}
 *       - {from: "1.26.0", offset: 88}
 *   - module: "google.golang.org/grpc"   # a module: versions are the module's, from the binary's build info
 *     struct: "google.golang.org/grpc/internal/transport.Stream"
 *     field: "method"
 *     versions:
 *       - {from: "v1.33.0", to: "v1.34.0", offset: 80}
 * </pre>
 *
 * <ul>
 *   <li>The document is a mapping with the one key {@value #FIELDS}, a list (it may be empty: {@code fields: []});
 *       an empty document is an empty table.
 *   <li>Each entry has exactly the keys {@value #MODULE}, {@value #STRUCT}, {@value #FIELD} (non-empty scalars) and
 *       {@value #VERSIONS} (a non-empty list). They match a {@link StructField}'s {@link StructField#module()},
 *       {@link StructField#structType()} and {@link StructField#field()} exactly. One entry per (module, struct,
 *       field).
 *   <li>Each version range has {@value #FROM} (required, inclusive), {@value #TO} (optional, exclusive; absent means
 *       no upper bound), {@value #OFFSET} (required) and {@value #SOURCE} (optional provenance, shown with the
 *       offset). {@code to} must be after {@code from}, and the ranges of one entry must not overlap. A binary's
 *       field takes the offset of the range that contains the binary's version of the entry's module.
 *   <li>Versions: an optional {@code go} or {@code v} prefix, then {@code major[.minor[.patch]]}; missing parts are
 *       0, and anything after the numbers (a pre-release suffix) is ignored when comparing. Quote them, so that other
 *       YAML tools do not read {@code 1.20} as a number.
 *   <li>The {@code std} module's version is the Go version the binary was built with. Any other module's is its
 *       version in the binary's build info (its replacement's version when the replacement has one); a module the build info
 *       does not list with a version (the main module of a development build says {@code (devel)}) has none, and
 *       tables cannot answer for its types.
 *   <li>Offsets: non-negative integers up to 2<sup>31</sup>, in bytes from the start of the struct, decimal or
 *       {@code 0x} hexadecimal (parsed like Java's {@code Long.decode}: no leading zeros, which would read as
 *       octal).
 *   <li>Any other key, a duplicate key or a duplicate entry is an error naming the table and line, and makes the
 *       table (and so a probe set bundling it) unusable. The YAML is only composed into nodes: tags are not honoured
 *       and no objects are constructed. At most 8 MiB.
 * </ul>
 *
 * <h2>From table to BPF constant</h2>
 *
 * A table never names BPF constants. The probe set's description connects them: {@link
 * ProbeSetDescriptor.Builder#field(StructField) field(StructField.std("net/url.URL", "RawQuery",
 * "off_url_raw_query"))} asks for the offset of {@code net/url.URL.RawQuery} and has the host write it, before the
 * object is loaded, into the object's {@code const volatile} global {@code off_url_raw_query} (the value is truncated
 * to the global's size; {@code __u64} is the convention). The {@code off_<type>_<field>} names are a convention
 * only. Several fields may name one constant (the same field under the names of different Go releases, e.g. a type
 * that moved to another package): the first one declared that resolves sets it. Every constant a description names
 * (fields, {@link ProbeSetDescriptor#constants()}, {@link ProbeSetDescriptor#versionedConstants()}) must be a
 * {@code const volatile} global of the object: the host refuses the probe set with an error naming any that is not.
 *
 * <p>Values that depend on a module's version but are not field offsets (which register holds an argument, whether a
 * function exists) are {@link VersionedConstant}s, declared in the description, not in a table.
 *
 * <p>The probe-set kit ({@code io.goscope:goscope-probe-kit}, see {@code docs/probe-kit.md}) ships the BPF side of
 * this contract; {@code examples/probe-example} bundles a table for one field.
 */
public final class OffsetTableFormat {
  /** The top-level key: the list of entries. */
  public static final String FIELDS = "fields";
  /** Entry key: {@code std} or a Go module path. */
  public static final String MODULE = "module";
  /** Entry key: the fully-qualified struct type. */
  public static final String STRUCT = "struct";
  /** Entry key: the field name. */
  public static final String FIELD = "field";
  /** Entry key: the list of version ranges. */
  public static final String VERSIONS = "versions";
  /** Range key: first version (inclusive). */
  public static final String FROM = "from";
  /** Range key: first version no longer covered (exclusive), optional. */
  public static final String TO = "to";
  /** Range key: the field's byte offset. */
  public static final String OFFSET = "offset";
  /** Range key: where the offset came from, optional. */
  public static final String SOURCE = "source";
  /** The module name of the standard library. */
  public static final String STD = "std";

  private OffsetTableFormat() {}
}
