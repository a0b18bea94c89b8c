package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.api.StructField;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves struct field offsets for a binary, trying in order: the binary's DWARF, its Go runtime type metadata,
 * the offset tables given with the request (a probe plugin's bundled table) and at construction, then the watched
 * offset bundle directory. The answer records which source answered; each resolution is logged at DEBUG with
 * {@code binary, struct, field, offset, source}.
 *
 * <p>Answers from the binary itself (DWARF, type metadata, including "not there") are cached per build ID, so a
 * binary that many processes run is parsed once; table and bundle answers are looked up every time, so a new bundle
 * applies without a restart. Thread-safe.
 */
public final class FieldResolver {
  private static final Logger LOG = LoggerFactory.getLogger(FieldResolver.class);

  /** Binaries whose intrinsic answers are cached (least recently used are dropped). */
  public static final int MAX_CACHED_BINARIES = 256;

  /** The module name that stands for the standard library; its version is the Go toolchain version. */
  public static final String STD = "std";

  private final List<OffsetTable> tables;
  private final @Nullable OffsetBundleDirectory bundles;
  private final Map<String, Map<String, Intrinsic>> cache =
      new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Map<String, Intrinsic>> eldest) {
          return size() > MAX_CACHED_BINARIES;
        }
      };

  /** What a binary says about one field by itself: an offset from DWARF or type metadata, or why not. */
  private record Intrinsic(FieldSource source, OptionalLong offset, String detail) {}

  /**
   * @param tables offset tables consulted for every request after the request's own tables
   * @param bundles the watched bundle directory, or null for none
   */
  public FieldResolver(List<OffsetTable> tables, @Nullable OffsetBundleDirectory bundles) {
    this.tables = List.copyOf(requireNonNull(tables, "tables"));
    this.bundles = bundles;
  }

  /**
   * What the resolver needs to know about a binary. Suppliers are called at most once and only when an earlier
   * source did not answer; they may return empty (no DWARF, no module data).
   *
   * @param name the binary's path, for logs
   * @param cacheKey build ID (or another content key) for caching; null disables caching
   * @param goVersion toolchain version (the version of module {@code std})
   * @param moduleVersions module path to version from the build info ({@code v1.33.3})
   */
  public record BinaryView(String name, @Nullable String cacheKey, GoVersion goVersion,
                           Map<String, String> moduleVersions, Supplier<Optional<DwarfStructs>> dwarf,
                           Supplier<Optional<TypeMetadata>> typeMetadata) {
    public BinaryView {
      requireNonNull(name, "name");
      requireNonNull(goVersion, "goVersion");
      moduleVersions = Map.copyOf(requireNonNull(moduleVersions, "moduleVersions"));
      dwarf = memoize(requireNonNull(dwarf, "dwarf"));
      typeMetadata = memoize(requireNonNull(typeMetadata, "typeMetadata"));
    }

    /** The view of an open {@link GoBinary}: its build ID, Go version, dependency versions, DWARF, type data. */
    public static BinaryView of(GoBinary binary) {
      requireNonNull(binary, "binary");
      String name = binary.path().toString();
      Map<String, String> modules = new HashMap<>();
      binary.buildInfo().ifPresent(bi -> {
        for (GoBuildInfo.Module m : bi.dependencies()) {
          GoBuildInfo.Module effective = m.replacement() != null && !m.replacement().version().isEmpty()
              ? m.replacement() : m;
          modules.put(m.path(), effective.version());
        }
        bi.mainModule().ifPresent(m -> modules.putIfAbsent(m.path(), m.version()));
      });
      return new BinaryView(name, binary.buildId().orElse(null), binary.goVersion(), modules,
          () -> {
            try {
              return DwarfStructs.of(binary.elf());
            } catch (GoBinaryFormatException e) {
              LOG.debug("dwarf unusable binary={} error={}", name, e.getMessage());
              return Optional.empty();
            } catch (InternalError e) {
              LOG.debug("dwarf unusable binary={} error={}", name,
                  ElfFile.mappedFault(binary.elf(), "dwarf", e).getMessage());
              return Optional.empty();
            }
          },
          () -> {
            try {
              return Optional.of(TypeMetadata.of(binary));
            } catch (GoBinaryFormatException | IllegalArgumentException e) {
              LOG.debug("type metadata unusable binary={} error={}", name, e.getMessage());
              return Optional.empty();
            } catch (InternalError e) {
              LOG.debug("type metadata unusable binary={} error={}", name,
                  ElfFile.mappedFault(binary.elf(), "type metadata", e).getMessage());
              return Optional.empty();
            }
          });
    }

    /** The version of {@code module} in this binary ({@code std}: the Go version), or empty if unknown. */
    public Optional<GoVersion> versionOf(String module) {
      if (STD.equals(module)) {
        return Optional.of(goVersion);
      }
      return Optional.ofNullable(GoVersion.parse(moduleVersions.get(module)));
    }

    private static <T> Supplier<T> memoize(Supplier<T> s) {
      return new Supplier<>() {
        private boolean done;
        private T value;

        @Override
        public synchronized T get() {
          if (!done) {
            value = s.get();
            done = true;
          }
          return value;
        }
      };
    }
  }

  /** Resolves one field of {@code binary} with the resolver's tables and bundles. */
  public ResolvedField resolve(GoBinary binary, StructField field) {
    return resolveAll(BinaryView.of(binary), List.of(requireNonNull(field, "field")), List.of()).get(0);
  }

  /** Resolves {@code fields} of {@code binary}, consulting {@code probeTables} before the resolver's own tables. */
  public List<ResolvedField> resolveAll(GoBinary binary, List<StructField> fields, List<OffsetTable> probeTables) {
    return resolveAll(BinaryView.of(binary), fields, probeTables);
  }

  /** Resolves one field of a binary described by {@code view}. */
  public ResolvedField resolve(BinaryView view, StructField field, List<OffsetTable> probeTables) {
    return resolveAll(view, List.of(requireNonNull(field, "field")), probeTables).get(0);
  }

  /** Resolves {@code fields} of a binary described by {@code view}; parsing is shared across the fields. */
  public List<ResolvedField> resolveAll(BinaryView view, List<StructField> fields, List<OffsetTable> probeTables) {
    requireNonNull(view, "view");
    requireNonNull(fields, "fields");
    requireNonNull(probeTables, "probeTables");
    List<ResolvedField> out = new ArrayList<>(fields.size());
    for (StructField f : fields) {
      ResolvedField r = resolveOne(view, requireNonNull(f, "field"), probeTables);
      if (LOG.isDebugEnabled()) {
        LOG.debug("field offset resolved binary={} struct={} field={} offset={} source={} detail={}", view.name(),
            f.structType(), f.field(), r.offset().isPresent() ? r.offset().getAsLong() : "none", r.source(),
            r.detail());
      }
      out.add(r);
    }
    return out;
  }

  private ResolvedField resolveOne(BinaryView view, StructField f, List<OffsetTable> probeTables) {
    Intrinsic in = intrinsic(view, f);
    if (in.offset().isPresent()) {
      return new ResolvedField(f, in.offset(), in.source(), in.detail());
    }
    List<String> why = new ArrayList<>();
    why.add(in.detail());
    Optional<GoVersion> version = view.versionOf(f.module());
    if (version.isEmpty()) {
      why.add("module " + f.module() + " version unknown (not in build info)");
      return new ResolvedField(f, OptionalLong.empty(), FieldSource.MISSING, String.join("; ", why));
    }
    GoVersion v = version.get();
    int consulted = 0;
    for (List<OffsetTable> list : List.of(probeTables, tables)) {
      for (OffsetTable t : list) {
        consulted++;
        Optional<OffsetTable.Match> m = t.find(f.module(), v, f.structType(), f.field());
        if (m.isPresent()) {
          return new ResolvedField(f, OptionalLong.of(m.get().offset()), FieldSource.TABLE, m.get().origin());
        }
      }
    }
    why.add(consulted + " tables: no range for " + f.module() + " " + v);
    if (bundles != null) {
      Optional<OffsetBundleDirectory.Match> m = bundles.find(f.module(), v, f.structType(), f.field());
      if (m.isPresent()) {
        return new ResolvedField(f, OptionalLong.of(m.get().offset()), FieldSource.BUNDLE, m.get().origin());
      }
      why.add("bundles in " + bundles.directory() + ": none");
    }
    return new ResolvedField(f, OptionalLong.empty(), FieldSource.MISSING, String.join("; ", why));
  }

  private Intrinsic intrinsic(BinaryView view, StructField f) {
    String key = f.structType() + "." + f.field();
    if (view.cacheKey() != null) {
      synchronized (cache) {
        Map<String, Intrinsic> forBinary = cache.get(view.cacheKey());
        Intrinsic hit = forBinary == null ? null : forBinary.get(key);
        if (hit != null) {
          return hit;
        }
      }
    }
    Intrinsic in = computeIntrinsic(view, f);
    if (view.cacheKey() != null) {
      synchronized (cache) {
        cache.computeIfAbsent(view.cacheKey(), k -> new HashMap<>()).put(key, in);
      }
    }
    return in;
  }

  private static Intrinsic computeIntrinsic(BinaryView view, StructField f) {
    String dwarfWhy;
    Optional<DwarfStructs> dwarf = view.dwarf().get();
    if (dwarf.isEmpty()) {
      dwarfWhy = "dwarf: absent";
    } else {
      try {
        OptionalLong off = dwarf.get().offset(f.structType(), f.field());
        if (off.isPresent()) {
          return new Intrinsic(FieldSource.DWARF, off, "dwarf");
        }
        dwarfWhy = dwarf.get().hasStruct(f.structType()) ? "dwarf: no such field" : "dwarf: struct not found";
      } catch (GoBinaryFormatException e) {
        dwarfWhy = "dwarf: " + e.getMessage();
      } catch (InternalError e) {
        dwarfWhy = "dwarf: " + mappedFault(view, e);
      }
    }
    String typesWhy;
    Optional<TypeMetadata> types = view.typeMetadata().get();
    if (types.isEmpty()) {
      typesWhy = "type metadata: unavailable";
    } else {
      try {
        Map<String, Long> fields = types.get().fields(f.structType());
        Long off = fields.get(f.field());
        if (off != null) {
          return new Intrinsic(FieldSource.TYPE_METADATA, OptionalLong.of(off), "type metadata " + view.goVersion());
        }
        typesWhy = fields.isEmpty() ? "type metadata: struct not reached" : "type metadata: no such field";
      } catch (GoBinaryFormatException | IndexOutOfBoundsException e) {
        typesWhy = "type metadata: " + e.getMessage();
      } catch (InternalError e) {
        typesWhy = "type metadata: " + mappedFault(view, e);
      }
    }
    return new Intrinsic(FieldSource.MISSING, OptionalLong.empty(), dwarfWhy + "; " + typesWhy);
  }

  /** The SIGBUS of a mapped binary that shrank while being read, as a message; any other internal error rethrown. */
  private static String mappedFault(BinaryView view, InternalError e) {
    if (e.getMessage() == null || !e.getMessage().contains("unsafe memory access")) {
      throw e;
    }
    return view.name() + ": the file changed while mapped (truncated or rewritten in place)";
  }
}
