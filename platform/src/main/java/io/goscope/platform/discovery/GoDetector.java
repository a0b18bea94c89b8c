package io.goscope.platform.discovery;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import io.goscope.platform.gobinary.GoBinary;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A cheap, cached test of whether an executable is a Go binary, for discovery: the ELF reader's quick check
 * ({@link GoBinary#looksLikeGo}), which reads the header and section names, and for binaries without section
 * headers the first 64 KiB of each writable segment for the {@code "\xff Go buildinf:"} magic.
 *
 * <p>Results are cached per {@link ExecutableKey} (device, inode, mtime) in a bounded LRU cache. Thread-safe.
 * Full Go binary parsing lives in {@code io.goscope.platform.gobinary}.
 */
public final class GoDetector {
  /** Default number of executables remembered. */
  public static final int DEFAULT_CACHE_SIZE = 4096;


  private final Map<ExecutableKey, Boolean> cache;

  public GoDetector() {
    this(DEFAULT_CACHE_SIZE);
  }

  public GoDetector(int maxEntries) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries must be positive: " + maxEntries);
    }
    this.cache = new LinkedHashMap<>(64, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<ExecutableKey, Boolean> eldest) {
        return size() > maxEntries;
      }
    };
  }

  /**
   * Whether the file with this key is a Go binary, from the cache or by reading {@code file}. Empty when the file
   * vanished (the process exited); failures other than that raise {@link ProcFsException}.
   */
  public Optional<Boolean> isGoBinary(Path file, ExecutableKey key) {
    requireNonNull(file, "file");
    requireNonNull(key, "key");
    synchronized (cache) {
      Boolean known = cache.get(key);
      if (known != null) {
        return Optional.of(known);
      }
    }
    boolean go;
    try {
      go = inspect(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new ProcFsException("inspect executable " + file + ": " + e, e);
    }
    synchronized (cache) {
      cache.put(key, go);
    }
    return Optional.of(go);
  }

  /** Number of cached verdicts. */
  public int cacheSize() {
    synchronized (cache) {
      return cache.size();
    }
  }

  /**
   * Uncached check, through the ELF reader's quick test ({@link GoBinary#looksLikeGo}: header, section names and
   * the first pages of writable data only). Files that are not ELF, are truncated or are malformed give
   * {@code false}; only I/O errors (including a vanished file) throw.
   */
  public static boolean inspect(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      // Opened first so that a vanished or unreadable file surfaces as an I/O error, not as "not Go".
      return ch.size() >= 4 && GoBinary.looksLikeGo(file);
    }
  }
}
