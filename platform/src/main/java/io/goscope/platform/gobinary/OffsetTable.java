package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.platform.yaml.SafeYaml;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Struct field offsets as data: YAML tables keyed by module ({@code std} = the Go toolchain version, otherwise a
 * module path whose version comes from the binary's build info) and half-open version ranges.
 *
 * <pre>
 * fields:
 *   - module: std
 *     struct: net/http.Request
 *     field: Method
 *     versions:
 *       - {from: "1.19.0", to: "1.20.0", offset: 0, source: "dwarf go1.19.8"}
 * </pre>
 *
 * <p>{@code from} is inclusive, {@code to} exclusive and optional (open-ended); {@code source} is optional
 * provenance. The YAML is only composed into nodes (no object construction at all, so no class can be instantiated
 * from a document); every problem is reported with the source name and line. Immutable and thread-safe.
 */
public final class OffsetTable {
  /** Largest table accepted, in characters. */
  public static final int MAX_CHARS = 8 << 20;

  private static final Set<String> FIELD_KEYS = Set.of("module", "struct", "field", "versions");
  private static final Set<String> RANGE_KEYS = Set.of("from", "to", "offset", "source");

  /** One version range of one field. */
  public record Range(GoVersion from, @Nullable GoVersion to, long offset, @Nullable String provenance, int line) {
    public Range {
      requireNonNull(from, "from");
    }

    /** Whether {@code v} is in {@code [from, to)}. */
    public boolean contains(GoVersion v) {
      return v.compareTo(from) >= 0 && (to == null || v.compareTo(to) < 0);
    }
  }

  /** The ranges known for one module's struct field. */
  public record Entry(String module, String struct, String field, List<Range> ranges) {
    public Entry {
      requireNonNull(module, "module");
      requireNonNull(struct, "struct");
      requireNonNull(field, "field");
      ranges = List.copyOf(ranges);
    }
  }

  /** A successful lookup: the offset and where it came from ({@code file:line}, plus provenance when recorded). */
  public record Match(long offset, String origin) {}

  private record Key(String module, String struct, String field) {}

  private final String source;
  private final Map<Key, Entry> entries;

  private OffsetTable(String source, Map<Key, Entry> entries) {
    this.source = source;
    this.entries = Collections.unmodifiableMap(entries);
  }

  /** A table with no entries. */
  public static OffsetTable empty(String source) {
    return new OffsetTable(requireNonNull(source, "source"), new LinkedHashMap<>());
  }

  /** Builds a table from entries (used by the generator). */
  public static OffsetTable of(String source, List<Entry> entries) {
    Map<Key, Entry> map = new LinkedHashMap<>();
    for (Entry e : entries) {
      map.merge(new Key(e.module(), e.struct(), e.field()), e, (a, b) -> {
        List<Range> all = new ArrayList<>(a.ranges());
        all.addAll(b.ranges());
        return new Entry(a.module(), a.struct(), a.field(), all);
      });
    }
    return new OffsetTable(requireNonNull(source, "source"), map);
  }

  /** Parses a YAML file. */
  public static OffsetTable load(Path file) {
    requireNonNull(file, "file");
    String text;
    try {
      if (Files.size(file) > MAX_CHARS) {
        throw new OffsetTableFormatException(file.toString(), 0, "larger than " + MAX_CHARS + " bytes");
      }
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new OffsetTableFormatException(file.toString(), 0, "cannot read: " + e.getMessage(), e);
    }
    return parse(file.toString(), new StringReader(text));
  }

  /** Parses a classpath resource (e.g. a probe plugin's bundled table) with the given class loader. */
  public static OffsetTable loadResource(ClassLoader loader, String resource) {
    requireNonNull(loader, "loader");
    requireNonNull(resource, "resource");
    try (InputStream in = loader.getResourceAsStream(resource)) {
      if (in == null) {
        throw new OffsetTableFormatException(resource, 0, "resource not found");
      }
      byte[] bytes = in.readNBytes(MAX_CHARS + 1);
      if (bytes.length > MAX_CHARS) {
        throw new OffsetTableFormatException(resource, 0, "larger than " + MAX_CHARS + " bytes");
      }
      return parse(resource, new StringReader(new String(bytes, StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new OffsetTableFormatException(resource, 0, "cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Parses a table.
   *
   * @param source file or resource name used in error messages and provenance
   * @throws OffsetTableFormatException naming {@code source:line} for malformed YAML or a bad entry
   */
  public static OffsetTable parse(String source, Reader yaml) {
    requireNonNull(source, "source");
    requireNonNull(yaml, "yaml");
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setMaxAliasesForCollections(10);
    options.setCodePointLimit(MAX_CHARS);
    options.setAllowRecursiveKeys(false);
    Node root;
    try {
      root = SafeYaml.compose(yaml, options);
    } catch (SafeYaml.SyntaxError e) {
      throw new OffsetTableFormatException(source, e.line(), "malformed YAML: " + e.problem(), e);
    }
    Map<Key, Entry> entries = new LinkedHashMap<>();
    if (root == null) {
      return new OffsetTable(source, entries);
    }
    MappingNode top = mapping(source, root, "document");
    Node fields = null;
    for (NodeTuple t : top.getValue()) {
      String k = scalar(source, t.getKeyNode(), "key");
      if (k.equals("fields")) {
        if (fields != null) {
          throw error(source, t.getKeyNode(), "duplicate key \"fields\"");
        }
        fields = t.getValueNode();
      } else {
        throw error(source, t.getKeyNode(), "unknown top-level key \"" + k + "\" (expected \"fields\")");
      }
    }
    if (fields == null) {
      throw error(source, root, "missing \"fields\"");
    }
    if (!(fields instanceof SequenceNode seq)) {
      throw error(source, fields, "\"fields\" must be a list");
    }
    for (Node item : seq.getValue()) {
      Entry e = entry(source, item);
      Key key = new Key(e.module(), e.struct(), e.field());
      if (entries.containsKey(key)) {
        throw error(source, item, "duplicate entry for " + e.module() + " " + e.struct() + "." + e.field());
      }
      entries.put(key, e);
    }
    return new OffsetTable(source, entries);
  }

  private static Entry entry(String source, Node node) {
    MappingNode m = mapping(source, node, "fields[]");
    Map<String, Node> values = values(source, m, FIELD_KEYS);
    String module = required(source, m, values, "module");
    String struct = required(source, m, values, "struct");
    String field = required(source, m, values, "field");
    Node versions = values.get("versions");
    if (versions == null) {
      throw error(source, m, "missing \"versions\"");
    }
    if (!(versions instanceof SequenceNode vs) || vs.getValue().isEmpty()) {
      throw error(source, versions, "\"versions\" must be a non-empty list");
    }
    List<Range> ranges = new ArrayList<>();
    for (Node r : vs.getValue()) {
      MappingNode rm = mapping(source, r, "versions[]");
      Map<String, Node> rv = values(source, rm, RANGE_KEYS);
      GoVersion from = version(source, rm, rv.get("from"), "from", true);
      GoVersion to = version(source, rm, rv.get("to"), "to", false);
      if (to != null && to.compareTo(from) <= 0) {
        throw error(source, rm, "empty range: to " + to + " is not after from " + from);
      }
      Node offNode = rv.get("offset");
      if (offNode == null) {
        throw error(source, rm, "missing \"offset\"");
      }
      String offText = scalar(source, offNode, "offset");
      long offset;
      try {
        offset = Long.decode(offText);
      } catch (NumberFormatException e) {
        throw error(source, offNode, "offset: expected a non-negative integer, got \"" + offText + "\"");
      }
      if (offset < 0 || offset > (1L << 31)) {
        throw error(source, offNode, "offset " + offset + " out of range");
      }
      String provenance = rv.containsKey("source") ? scalar(source, rv.get("source"), "source") : null;
      Range range = new Range(from, to, offset, provenance, line(rm));
      for (Range other : ranges) {
        if (overlaps(range, other)) {
          throw error(source, rm, "range [" + from + ", " + (to == null ? "∞" : to) + ") overlaps the range on line "
              + other.line());
        }
      }
      ranges.add(range);
    }
    ranges.sort(Comparator.comparing(Range::from));
    return new Entry(module, struct, field, ranges);
  }

  private static boolean overlaps(Range a, Range b) {
    boolean aBeforeB = a.to() != null && a.to().compareTo(b.from()) <= 0;
    boolean bBeforeA = b.to() != null && b.to().compareTo(a.from()) <= 0;
    return !aBeforeB && !bBeforeA;
  }

  private static GoVersion version(String source, Node parent, @Nullable Node node, String key, boolean required) {
    if (node == null) {
      if (required) {
        throw error(source, parent, "missing \"" + key + "\"");
      }
      return null;
    }
    String text = scalar(source, node, key);
    GoVersion v = GoVersion.parse(text);
    if (v == null) {
      throw error(source, node, key + ": not a version: \"" + text + "\"");
    }
    return v;
  }

  private static Map<String, Node> values(String source, MappingNode m, Set<String> allowed) {
    Map<String, Node> out = new LinkedHashMap<>();
    for (NodeTuple t : m.getValue()) {
      String k = scalar(source, t.getKeyNode(), "key");
      if (!allowed.contains(k)) {
        throw error(source, t.getKeyNode(), "unknown key \"" + k + "\" (expected one of " + allowed + ")");
      }
      if (out.put(k, t.getValueNode()) != null) {
        throw error(source, t.getKeyNode(), "duplicate key \"" + k + "\"");
      }
    }
    return out;
  }

  private static String required(String source, MappingNode m, Map<String, Node> values, String key) {
    Node n = values.get(key);
    if (n == null) {
      throw error(source, m, "missing \"" + key + "\"");
    }
    String s = scalar(source, n, key);
    if (s.isBlank()) {
      throw error(source, n, "\"" + key + "\" is empty");
    }
    return s;
  }

  private static MappingNode mapping(String source, Node n, String what) {
    if (n instanceof MappingNode m) {
      return m;
    }
    throw error(source, n, what + ": expected a mapping");
  }

  private static String scalar(String source, Node n, String what) {
    if (n instanceof ScalarNode s) {
      return s.getValue();
    }
    throw error(source, n, what + ": expected a scalar");
  }

  private static int line(Node n) {
    return n.getStartMark() == null ? 0 : n.getStartMark().getLine() + 1;
  }

  private static OffsetTableFormatException error(String source, Node n, String problem) {
    return new OffsetTableFormatException(source, line(n), problem);
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** The file or resource this table came from. */
  public String source() {
    return source;
  }

  /** All entries, in file order. */
  public List<Entry> entries() {
    return List.copyOf(entries.values());
  }

  /** The offset for {@code module}'s {@code struct.field} at {@code version}, if a range covers it. */
  public OptionalLong lookup(String module, GoVersion version, String struct, String field) {
    return find(module, version, struct, field).map(m -> OptionalLong.of(m.offset())).orElse(OptionalLong.empty());
  }

  /** Like {@link #lookup} with provenance ({@code source:line [provenance]}). */
  public Optional<Match> find(String module, GoVersion version, String struct, String field) {
    requireNonNull(module, "module");
    requireNonNull(version, "version");
    Entry e = entries.get(new Key(module, requireNonNull(struct, "struct"), requireNonNull(field, "field")));
    if (e == null) {
      return Optional.empty();
    }
    for (Range r : e.ranges()) {
      if (r.contains(version)) {
        return Optional.of(new Match(r.offset(), source + ":" + r.line()
            + (r.provenance() == null ? "" : " (" + r.provenance() + ")")));
      }
    }
    return Optional.empty();
  }

  /** Renders the table as YAML in the documented format, with {@code header} as leading comment lines. */
  public String toYaml(String header) {
    StringBuilder sb = new StringBuilder();
    if (header != null && !header.isEmpty()) {
      for (String line : header.split("\n")) {
        sb.append("# ").append(line).append('\n');
      }
    }
    sb.append(entries.isEmpty() ? "fields: []\n" : "fields:\n");
    for (Entry e : entries.values()) {
      sb.append("  - module: ").append(quote(e.module())).append('\n');
      sb.append("    struct: ").append(quote(e.struct())).append('\n');
      sb.append("    field: ").append(quote(e.field())).append('\n');
      sb.append("    versions:\n");
      for (Range r : e.ranges()) {
        sb.append("      - {from: ").append(quote(r.from().toString()));
        if (r.to() != null) {
          sb.append(", to: ").append(quote(r.to().toString()));
        }
        sb.append(", offset: ").append(r.offset());
        if (r.provenance() != null) {
          sb.append(", source: ").append(quote(r.provenance()));
        }
        sb.append("}\n");
      }
    }
    return sb.toString();
  }

  /**
   * A YAML double-quoted scalar. Control and line-separator characters are escaped ({@code \\uXXXX}): YAML folds
   * raw line breaks inside quotes, so a value with a newline did not survive its own round trip (found by fuzzing).
   */
  private static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' || c == '"') {
        sb.append('\\').append(c);
      } else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029' || c == '\ufeff') {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  @Override
  public String toString() {
    return "OffsetTable[" + source + ", " + entries.size() + " fields]";
  }
}
