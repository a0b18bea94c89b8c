package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.platform.gobinary.GoBinary;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses each distinct executable once and plans every probe set for it. Results are cached by the file's identity
 * (device, inode, mtime) and by the binary's build id, so the same binary running in many pods, a restarted pod, or
 * the same image unpacked on another path is analysed once. The parsed binary is closed (unmapped) as soon as the
 * plans exist; only the plans are kept. Bounded LRU caches. Thread-safe.
 */
public final class BinaryAnalyzer {
  private static final Logger log = LoggerFactory.getLogger(BinaryAnalyzer.class);
  /** How many analyses stay cached, per cache. */
  public static final int DEFAULT_CAPACITY = 256;

  /** Identity of an executable file. */
  public record FileKey(long device, long inode, long mtimeNanos) {}

  /**
   * What the agent needs from a binary after analysis.
   *
   * @param goVersion toolchain version, e.g. {@code go1.19.8}
   * @param buildId Go or GNU build id, or null
   * @param plans probe set → plan
   * @param analysisNanos how long the first analysis took
   * @param pie whether the binary is position-independent (its runtime addresses are shifted by a load bias)
   * @param errorTypes the binary's concrete error types, and its database/sql driver connector and driver types:
   *     link-time type descriptor address to name, for decoders' {@code error.type} and {@code db.system.name}
   *     ({@link io.goscope.api.TracedProcess#goTypeName})
   */
  public record Analysis(
      String goVersion, @Nullable String buildId, Map<ProbeSetRuntime, ProbePlan> plans, long analysisNanos,
      boolean pie, Map<Long, String> errorTypes) {
    public Analysis {
      plans = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(plans));
      errorTypes = Map.copyOf(errorTypes);
    }

    /** An analysis without error types (tests). */
    public Analysis(String goVersion, @Nullable String buildId, Map<ProbeSetRuntime, ProbePlan> plans,
        long analysisNanos) {
      this(goVersion, buildId, plans, analysisNanos, false, Map.of());
    }
  }

  /**
   * Interfaces whose implementations are named beside the error types: database/sql's driver connector and driver,
   * whose type tells which database a DB talks to ({@code *pq.Connector}, {@code *mysql.connector}, ...).
   */
  static final List<String> DRIVER_INTERFACES = List.of("driver.Connector", "driver.Driver");
  /** Driver types kept per interface and binary, at most. */
  static final int MAX_DRIVER_TYPES = 256;

  /** Error types kept per binary, at most. */
  static final int MAX_ERROR_TYPES = 20_000;

  private final ProbePlanner planner;
  private final List<ProbeSetRuntime> runtimes;
  private final Map<FileKey, Analysis> byFile;
  private final Map<String, Analysis> byBuildId;
  private long hits;
  private long misses;

  public BinaryAnalyzer(ProbePlanner planner, List<ProbeSetRuntime> runtimes, int capacity) {
    this.planner = requireNonNull(planner, "planner");
    this.runtimes = List.copyOf(runtimes);
    this.byFile = lru(capacity);
    this.byBuildId = lru(capacity);
  }

  private static <K, V> Map<K, V> lru(int capacity) {
    return new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > capacity;
      }
    };
  }

  /**
   * Returns the analysis of the executable at {@code path}, parsing it only when neither its file identity nor its
   * build id has been seen.
   *
   * @throws io.goscope.platform.gobinary.GoBinaryFormatException naming the file when it is not a usable Go binary
   */
  public synchronized Analysis analyze(Path path, FileKey key) {
    Analysis cached = byFile.get(key);
    if (cached != null) {
      hits++;
      return cached;
    }
    long t0 = System.nanoTime();
    try (GoBinary binary = GoBinary.open(path)) {
      Optional<String> buildId = binary.buildId();
      if (buildId.isPresent()) {
        cached = byBuildId.get(buildId.get());
        if (cached != null) {
          hits++;
          byFile.put(key, cached);
          return cached;
        }
      }
      misses++;
      Map<ProbeSetRuntime, ProbePlan> plans = new LinkedHashMap<>();
      for (ProbeSetRuntime r : runtimes) {
        plans.put(r, planner.plan(binary, r.descriptor(), r.offsetTables()));
      }
      Map<Long, String> errorTypes = Map.of();
      try {
        io.goscope.platform.gobinary.TypeMetadata types = io.goscope.platform.gobinary.TypeMetadata.of(binary);
        long[] itabs = binary.moduleData().itablinks();
        Map<Long, String> named = new LinkedHashMap<>(types.implementations(itabs, "error", MAX_ERROR_TYPES));
        // database/sql drivers, which the databasesql probe set tells apart by their connector's (or driver's) type
        for (String driverInterface : DRIVER_INTERFACES) {
          named.putAll(types.implementations(itabs, driverInterface, MAX_DRIVER_TYPES));
        }
        errorTypes = named;
      } catch (RuntimeException e) {
        log.debug("error types unreadable path={} reason={}", path, e.toString());
      }
      Analysis a = new Analysis(binary.goVersion().toString(), buildId.orElse(null), plans, System.nanoTime() - t0,
          binary.isPie(), errorTypes);
      byFile.put(key, a);
      buildId.ifPresent(id -> byBuildId.put(id, a));
      log.info("binary analysed path={} go={} buildId={} stripped={} pie={} errorTypes={} ms={}", path, a.goVersion(),
          a.buildId(), binary.stripped(), binary.isPie(), errorTypes.size(), a.analysisNanos() / 1_000_000);
      return a;
    }
  }

  /** Forgets every cached analysis (e.g. after new offset bundles arrived, so missing fields are retried). */
  public synchronized void invalidate() {
    byFile.clear();
    byBuildId.clear();
  }

  public synchronized long hits() {
    return hits;
  }

  public synchronized long misses() {
    return misses;
  }
}
