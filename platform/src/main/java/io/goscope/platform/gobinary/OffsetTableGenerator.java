package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.api.StructField;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Builds {@link OffsetTable} YAML from unstripped Go binaries: for every requested field, the DWARF offset in each
 * binary becomes a version range, merged with the ranges already in the output file.
 *
 * <p>A binary built by Go {@code X.Y.Z} yields {@code [X.Y.0, X.(Y+1).0)} for {@code std} fields (struct layouts do not
 * change within a minor release); for other modules the range is the exact module version found in the binary's
 * build info, {@code [v, v with patch+1)}. New ranges replace overlapping old ones; adjacent ranges with the same
 * offset are coalesced. Each range keeps its provenance ({@code dwarf go1.19.8 app}).
 *
 * <pre>
 * java -cp goscope-platform.jar io.goscope.platform.gobinary.OffsetTableGenerator \
 *     --out nethttp-offsets.yaml [--merge] [--type-metadata] --field net/http.Request.Method \
 *     --field std:net/url.URL.Path [--fields-file list.txt] app-go1.19 app-go1.20 ...
 * </pre>
 *
 * <p>With {@code --type-metadata}, a field DWARF does not answer (a stripped binary built by someone else, e.g. a
 * release of a tool built with a Go version this machine has no toolchain for) is read from the binary's Go runtime
 * type metadata instead, and its provenance says so ({@code type metadata go1.26.5 esbuild}).
 *
 * <p>A field is {@code [module:]struct.field} (module defaults to {@code std}). Exit status: 0 when every field was
 * found in every binary, 1 when some were missing (the rest are still written), 2 on usage or I/O errors.
 */
public final class OffsetTableGenerator {
  private final Map<String, TreeMap<GoVersion, OffsetTable.Range>> ranges = new LinkedHashMap<>();
  private final Map<String, StructField> keys = new LinkedHashMap<>();
  private final List<String> missing = new ArrayList<>();
  @Nullable private FieldResolver typeMetadata;

  /** Starts from the entries of {@code existing} (may be empty). */
  public OffsetTableGenerator(OffsetTable existing) {
    for (OffsetTable.Entry e : requireNonNull(existing, "existing").entries()) {
      StructField f = new StructField(e.module(), e.struct(), e.field(), "-");
      for (OffsetTable.Range r : e.ranges()) {
        put(f, r);
      }
    }
  }

  /** Also reads fields DWARF does not answer from the binary's Go runtime type metadata. */
  public OffsetTableGenerator withTypeMetadata() {
    typeMetadata = new FieldResolver(List.of(), null);
    return this;
  }

  /** Parses {@code [module:]struct.field}. */
  public static StructField parseField(String spec) {
    requireNonNull(spec, "spec");
    String module = FieldResolver.STD;
    String rest = spec.trim();
    int colon = rest.indexOf(':');
    if (colon > 0) {
      module = rest.substring(0, colon);
      rest = rest.substring(colon + 1);
    }
    int dot = rest.lastIndexOf('.');
    int slash = rest.lastIndexOf('/');
    if (dot <= 0 || dot == rest.length() - 1 || rest.indexOf('.', slash + 1) == dot) {
      throw new IllegalArgumentException("field must be [module:]pkg/path.Type.field, got \"" + spec + "\"");
    }
    return new StructField(module, rest.substring(0, dot), rest.substring(dot + 1), "-");
  }

  /**
   * Adds the DWARF offsets (or, {@link #withTypeMetadata() if enabled}, type-metadata offsets) of {@code fields}
   * found in {@code binary}; returns how many were missing.
   */
  public int addBinary(GoBinary binary, List<StructField> fields) {
    requireNonNull(binary, "binary");
    String name = binary.path().getFileName().toString();
    Optional<DwarfStructs> dwarf = DwarfStructs.of(binary.elf());
    GoVersion go = binary.goVersion();
    Map<String, String> modules = FieldResolver.BinaryView.of(binary).moduleVersions();
    int miss = 0;
    for (StructField f : fields) {
      OptionalLong off = dwarf.isEmpty() ? OptionalLong.empty() : dwarf.get().offset(f.structType(), f.field());
      GoVersion from;
      GoVersion to;
      if (FieldResolver.STD.equals(f.module())) {
        from = GoVersion.of(go.major(), go.minor(), 0);
        to = GoVersion.of(go.major(), go.minor() + 1, 0);
      } else {
        GoVersion v = GoVersion.parse(modules.get(f.module()));
        if (v == null) {
          missing.add(f.qualifiedName() + " in " + name + ": module " + f.module() + " not in build info");
          miss++;
          continue;
        }
        from = new GoVersion(v.major(), v.minor(), v.patch(), "v" + v.major() + "." + v.minor() + "." + v.patch());
        to = new GoVersion(v.major(), v.minor(), v.patch() + 1,
            "v" + v.major() + "." + v.minor() + "." + (v.patch() + 1));
      }
      String how = "dwarf";
      if (off.isEmpty() && typeMetadata != null) {
        ResolvedField r = typeMetadata.resolve(binary, f);
        if (r.source() == FieldSource.TYPE_METADATA) {
          off = r.offset();
          how = "type metadata";
        }
      }
      if (off.isEmpty()) {
        missing.add(f.qualifiedName() + " in " + name + (dwarf.isEmpty() ? ": no DWARF" : ": not in DWARF")
            + (typeMetadata != null ? " nor type metadata" : ""));
        miss++;
        continue;
      }
      put(f, new OffsetTable.Range(from, to, off.getAsLong(), how + " " + go + " " + name, 0));
    }
    return miss;
  }

  private void put(StructField f, OffsetTable.Range r) {
    String key = f.module() + "\u0000" + f.structType() + "\u0000" + f.field();
    keys.putIfAbsent(key, f);
    TreeMap<GoVersion, OffsetTable.Range> m = ranges.computeIfAbsent(key, k -> new TreeMap<>());
    m.values().removeIf(o -> overlaps(o, r));
    m.put(r.from(), r);
    // coalesce neighbours with the same offset
    List<OffsetTable.Range> merged = new ArrayList<>();
    for (OffsetTable.Range cur : m.values()) {
      OffsetTable.Range last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
      if (last != null && last.to() != null && last.to().equals(cur.from()) && last.offset() == cur.offset()) {
        String prov = last.provenance() == null ? cur.provenance()
            : cur.provenance() == null || last.provenance().equals(cur.provenance()) ? last.provenance()
            : last.provenance() + "; " + cur.provenance();
        merged.set(merged.size() - 1, new OffsetTable.Range(last.from(), cur.to(), cur.offset(), prov, 0));
      } else {
        merged.add(cur);
      }
    }
    m.clear();
    for (OffsetTable.Range x : merged) {
      m.put(x.from(), x);
    }
  }

  private static boolean overlaps(OffsetTable.Range a, OffsetTable.Range b) {
    boolean aBeforeB = a.to() != null && a.to().compareTo(b.from()) <= 0;
    boolean bBeforeA = b.to() != null && b.to().compareTo(a.from()) <= 0;
    return !aBeforeB && !bBeforeA;
  }

  /** Fields that could not be generated so far, with the reason. */
  public List<String> missing() {
    return List.copyOf(missing);
  }

  /** The merged table. */
  public OffsetTable table(String source) {
    List<OffsetTable.Entry> entries = new ArrayList<>();
    ranges.forEach((k, m) -> {
      StructField f = keys.get(k);
      entries.add(new OffsetTable.Entry(f.module(), f.structType(), f.field(), List.copyOf(m.values())));
    });
    return OffsetTable.of(source, entries);
  }

  /** Command-line entry point; see the class documentation. */
  public static void main(String[] args) {
    int status = run(args, System.out, System.err);
    if (status != 0) {
      System.exit(status);
    }
  }

  private static final String USAGE = "usage: OffsetTableGenerator --out FILE [--merge] [--type-metadata] "
      + "(--field [module:]pkg.Type.field | --fields-file FILE)... BINARY...";

  static final String HOW_TO = "format and how to extend: platform/src/main/resources/offsets/README.md";

  /**
   * The file's comment header: a merge keeps the previous header's lines (they say where the older ranges came
   * from) and adds one for this run; a new file starts with one line.
   *
   * @param previousFile the previous file's lines; only its leading comment lines are read
   */
  static String header(List<String> previousFile, String thisRun) {
    List<String> lines = new ArrayList<>();
    for (String line : previousFile) {
      if (!line.startsWith("#")) {
        break;
      }
      String text = line.substring(1).strip();
      if (!text.equals(HOW_TO)) {
        lines.add(text);
      }
    }
    lines.add((lines.isEmpty() ? "generated by OffsetTableGenerator " : "merged by OffsetTableGenerator ") + thisRun
        + " — provenance kept per entry");
    lines.add(HOW_TO);
    return String.join("\n", lines);
  }

  /** Runs the generator; returns the exit status. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    Path output = null;
    boolean merge = false;
    boolean typeMetadata = false;
    List<StructField> fields = new ArrayList<>();
    List<Path> binaries = new ArrayList<>();
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--out" -> output = Path.of(args[++i]);
          case "--merge" -> merge = true;
          case "--type-metadata" -> typeMetadata = true;
          case "--field" -> fields.add(parseField(args[++i]));
          case "--fields-file" -> {
            for (String line : Files.readAllLines(Path.of(args[++i]), StandardCharsets.UTF_8)) {
              if (!line.isBlank() && !line.trim().startsWith("#")) {
                fields.add(parseField(line));
              }
            }
          }
          default -> {
            if (args[i].startsWith("--")) {
              throw new IllegalArgumentException("unknown option " + args[i]);
            }
            binaries.add(Path.of(args[i]));
          }
        }
      }
    } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException | IOException e) {
      err.println("offset table generator: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (output == null || fields.isEmpty() || binaries.isEmpty()) {
      err.println(USAGE);
      return 2;
    }
    try {
      boolean mergeInto = merge && Files.exists(output);
      OffsetTable existing = mergeInto ? OffsetTable.load(output) : OffsetTable.empty(output.toString());
      OffsetTableGenerator gen = new OffsetTableGenerator(existing);
      if (typeMetadata) {
        gen.withTypeMetadata();
      }
      List<String> versions = new ArrayList<>();
      for (Path b : binaries) {
        try (GoBinary binary = GoBinary.open(b)) {
          gen.addBinary(binary, fields);
          versions.add(b.getFileName() + " (" + binary.goVersion() + ")");
        }
      }
      String header = header(mergeInto ? Files.readAllLines(output, StandardCharsets.UTF_8) : List.of(),
          "from " + String.join(", ", versions));
      String yaml = gen.table(output.toString()).toYaml(header);
      OffsetTable.parse(output.toString(), new java.io.StringReader(yaml)); // self-check before writing
      Path parent = output.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Files.writeString(output, yaml, StandardCharsets.UTF_8);
      for (String m : gen.missing()) {
        err.println("missing: " + m);
      }
      out.println("wrote " + output + " (" + gen.table(output.toString()).entries().size() + " fields)");
      return gen.missing().isEmpty() ? 0 : 1;
    } catch (IOException | RuntimeException e) {
      err.println("offset table generator: " + e.getMessage());
      return 2;
    }
  }
}
