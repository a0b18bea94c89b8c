package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A directory of extra offset tables ({@code *.yaml} / {@code *.yml}, the {@link OffsetTable} format) that the agent
 * applies without a restart: a {@link WatchService} triggers a rescan on changes, and a periodic rescan catches what
 * the watch misses (network or overlay filesystems, a directory created later).
 *
 * <p>Each rescan reparses only files whose contents changed. A malformed file is logged once (name and line), kept
 * in {@link #errors()} and ignored, while every other file stays in force; a file that was valid and becomes
 * malformed drops out until fixed. Lookups read an immutable snapshot and are thread-safe; files are consulted in
 * name order and the first covering range wins.
 */
public final class OffsetBundleDirectory implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OffsetBundleDirectory.class);

  /** Default interval of the fallback rescan. */
  public static final Duration DEFAULT_RESCAN = Duration.ofSeconds(30);
  /** At most this many files are read from the directory. */
  public static final int MAX_FILES = 1000;

  private record Loaded(byte[] content, OffsetTable table, OffsetTableFormatException error) {}

  /** A match from one of the directory's files. */
  public record Match(long offset, String origin) {}

  private final Path dir;
  private final Duration rescanInterval;
  private final Object rescanLock = new Object();
  private volatile Map<Path, Loaded> snapshot = Map.of();
  private volatile boolean closed;
  private WatchService watch;
  private Thread thread;

  private OffsetBundleDirectory(Path dir, Duration rescanInterval) {
    this.dir = dir;
    this.rescanInterval = rescanInterval;
  }

  /** Scans {@code dir} now, then watches it on a daemon thread until {@link #close()}. */
  public static OffsetBundleDirectory watch(Path dir, Duration rescanInterval) {
    requireNonNull(dir, "dir");
    requireNonNull(rescanInterval, "rescanInterval");
    if (rescanInterval.isNegative() || rescanInterval.isZero()) {
      throw new IllegalArgumentException("rescanInterval must be positive: " + rescanInterval);
    }
    OffsetBundleDirectory d = new OffsetBundleDirectory(dir.toAbsolutePath(), rescanInterval);
    d.rescan();
    d.start();
    return d;
  }

  /** Scans {@code dir} once, with no background thread (call {@link #rescan()} to refresh). */
  public static OffsetBundleDirectory scanOnce(Path dir) {
    OffsetBundleDirectory d = new OffsetBundleDirectory(requireNonNull(dir, "dir").toAbsolutePath(), DEFAULT_RESCAN);
    d.rescan();
    return d;
  }

  private void start() {
    thread = new Thread(this::run, "goscope-offset-bundles");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    while (!closed) {
      try {
        if (watch == null && Files.isDirectory(dir)) {
          watch = dir.getFileSystem().newWatchService();
          dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
              StandardWatchEventKinds.ENTRY_DELETE);
        }
        if (watch != null) {
          WatchKey key = watch.poll(rescanInterval.toMillis(), TimeUnit.MILLISECONDS);
          if (key != null) {
            key.pollEvents();
            if (!key.reset()) {
              watch.close();
              watch = null; // directory gone: fall back to polling until it reappears
            }
            Thread.sleep(50); // let a burst of writes settle
          }
        } else {
          Thread.sleep(rescanInterval.toMillis());
        }
        if (!closed) {
          rescan();
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      } catch (IOException | RuntimeException e) {
        LOG.warn("offset bundle watch failed dir={} error={}", dir, e.toString());
        try {
          Thread.sleep(rescanInterval.toMillis());
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  /** Rereads the directory now; changed files are reparsed, removed files dropped. Safe to call from any thread. */
  public void rescan() {
    synchronized (rescanLock) {
      Map<Path, Loaded> old = snapshot;
      Map<Path, Loaded> next = new TreeMap<>();
      for (Path file : listFiles()) {
        byte[] content;
        try {
          if (Files.size(file) > OffsetTable.MAX_CHARS) {
            next.put(file, new Loaded(new byte[0], null,
                new OffsetTableFormatException(file.toString(), 0, "larger than " + OffsetTable.MAX_CHARS + " bytes")));
            continue;
          }
          content = Files.readAllBytes(file);
        } catch (IOException e) {
          continue; // vanished between listing and reading
        }
        Loaded prev = old.get(file);
        if (prev != null && Arrays.equals(prev.content(), content)) {
          next.put(file, prev);
          continue;
        }
        try {
          OffsetTable t = OffsetTable.parse(file.toString(),
              new StringReader(new String(content, StandardCharsets.UTF_8)));
          next.put(file, new Loaded(content, t, null));
          LOG.info("offset bundle loaded file={} fields={}", file, t.entries().size());
        } catch (OffsetTableFormatException e) {
          next.put(file, new Loaded(content, null, e));
          LOG.warn("offset bundle ignored file={} line={} error={}", file, e.line(), e.getMessage());
        }
      }
      for (Path gone : old.keySet()) {
        if (!next.containsKey(gone)) {
          LOG.info("offset bundle removed file={}", gone);
        }
      }
      snapshot = Collections.unmodifiableMap(next);
    }
  }

  private List<Path> listFiles() {
    List<Path> files = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return files;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.{yaml,yml}")) {
      for (Path p : ds) {
        if (files.size() >= MAX_FILES) {
          LOG.warn("offset bundle directory has more than {} files dir={}; the rest are ignored", MAX_FILES, dir);
          break;
        }
        if (Files.isRegularFile(p) && !p.getFileName().toString().startsWith(".")) {
          files.add(p);
        }
      }
    } catch (IOException e) {
      LOG.warn("offset bundle directory unreadable dir={} error={}", dir, e.toString());
    }
    files.sort(null);
    return files;
  }

  /** The watched directory. */
  public Path directory() {
    return dir;
  }

  /** The offset from the first file (in name order) whose table covers the field at {@code version}. */
  public OptionalLong lookup(String module, GoVersion version, String struct, String field) {
    return find(module, version, struct, field).map(m -> OptionalLong.of(m.offset())).orElse(OptionalLong.empty());
  }

  /** Like {@link #lookup} with the origin ({@code file:line}). */
  public Optional<Match> find(String module, GoVersion version, String struct, String field) {
    for (Loaded l : snapshot.values()) {
      if (l.table() != null) {
        Optional<OffsetTable.Match> m = l.table().find(module, version, struct, field);
        if (m.isPresent()) {
          return Optional.of(new Match(m.get().offset(), m.get().origin()));
        }
      }
    }
    return Optional.empty();
  }

  /** Tables currently in force, in name order. */
  public List<OffsetTable> tables() {
    List<OffsetTable> out = new ArrayList<>();
    for (Loaded l : snapshot.values()) {
      if (l.table() != null) {
        out.add(l.table());
      }
    }
    return out;
  }

  /** Files currently ignored, with the error ({@code file:line: problem}). */
  public Map<Path, String> errors() {
    Map<Path, String> out = new LinkedHashMap<>();
    for (Map.Entry<Path, Loaded> e : snapshot.entrySet()) {
      if (e.getValue().error() != null) {
        out.put(e.getKey(), e.getValue().error().getMessage());
      }
    }
    return out;
  }

  @Override
  public void close() {
    closed = true;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (watch != null) {
      try {
        watch.close();
      } catch (IOException e) {
        LOG.debug("closing watch service failed dir={} error={}", dir, e.toString());
      }
    }
  }

  @Override
  public String toString() {
    return "OffsetBundleDirectory[" + dir + ", files=" + snapshot.size() + "]";
  }
}
