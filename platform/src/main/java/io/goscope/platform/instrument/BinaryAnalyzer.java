package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.platform.gobinary.GoBinary;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses each distinct executable once and plans every probe set for it. Keyed by the file's identity (device,
 * inode, size, mtime), so the same binary running in many pods, or a restarted pod, is analysed once. Bounded LRU;
 * evicted binaries are closed (unmapped).
 */
public final class BinaryAnalyzer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BinaryAnalyzer.class);
  /** How many analysed binaries stay cached. */
  public static final int DEFAULT_CAPACITY = 64;

  /** Identity of an executable file. */
  public record FileKey(long device, long inode, long size, long mtimeNanos) {}

  /** A parsed binary with its probe plans. */
  public record Analysis(GoBinary binary, Map<ProbeSetRuntime, ProbePlan> plans, long analysisNanos) {}

  private final ProbePlanner planner;
  private final List<ProbeSetRuntime> runtimes;
  private final Map<FileKey, Analysis> cache;
  private long hits;
  private long misses;

  public BinaryAnalyzer(ProbePlanner planner, List<ProbeSetRuntime> runtimes, int capacity) {
    this.planner = requireNonNull(planner, "planner");
    this.runtimes = List.copyOf(runtimes);
    this.cache =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<FileKey, Analysis> eldest) {
            if (size() > capacity) {
              eldest.getValue().binary().close();
              return true;
            }
            return false;
          }
        };
  }

  /**
   * Returns the analysis of the executable at {@code path}, parsing it on the first call for {@code key}.
   *
   * @throws io.goscope.platform.gobinary.GoBinaryFormatException naming the file when it is not a usable Go binary
   */
  public synchronized Analysis analyze(Path path, FileKey key) {
    Analysis cached = cache.get(key);
    if (cached != null) {
      hits++;
      return cached;
    }
    misses++;
    long t0 = System.nanoTime();
    GoBinary binary = GoBinary.open(path);
    try {
      Map<ProbeSetRuntime, ProbePlan> plans = new LinkedHashMap<>();
      for (ProbeSetRuntime r : runtimes) {
        plans.put(r, planner.plan(binary, r.descriptor(), r.offsetTables()));
      }
      Analysis a = new Analysis(binary, plans, System.nanoTime() - t0);
      cache.put(key, a);
      log.info("binary analysed path={} go={} stripped={} pie={} ms={}", path, binary.goVersion(),
          binary.stripped(), binary.isPie(), a.analysisNanos() / 1_000_000);
      return a;
    } catch (RuntimeException e) {
      binary.close();
      throw e;
    }
  }

  public synchronized long hits() {
    return hits;
  }

  public synchronized long misses() {
    return misses;
  }

  @Override
  public synchronized void close() {
    cache.values().forEach(a -> a.binary().close());
    cache.clear();
  }
}
