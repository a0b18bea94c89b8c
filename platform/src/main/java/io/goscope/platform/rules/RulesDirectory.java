package io.goscope.platform.rules;

import static java.nio.file.StandardWatchEventKinds.ENTRY_CREATE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_DELETE;
import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rule files of a directory ({@code GOSCOPE_RULES_DIR}), reloaded without restart.
 *
 * <p>Files ending in {@code .yaml} or {@code .yml} (not starting with a dot, so a ConfigMap's {@code ..data}
 * directories are skipped; its symlinked files are followed) are read in name order. The directory is watched with
 * a {@link WatchService} and rescanned periodically anyway (ConfigMap updates swap symlinks; some file systems send
 * no events). When a file changes, a new immutable {@link RuleSet} is published to the listener. A file that fails
 * to parse is reported with {@code file:line:column} and its last good version stays in force; a deleted file's
 * rules go away. The {@code extraIncludes} (from {@code GO_APPS}) come after all file rules.
 */
public final class RulesDirectory implements AutoCloseable {
  /** The environment variable naming the directory. */
  public static final String RULES_DIR_ENV = "GOSCOPE_RULES_DIR";
  /** Default period of the full rescan. */
  public static final Duration DEFAULT_RESCAN_INTERVAL = Duration.ofSeconds(10);

  private static final Logger log = LoggerFactory.getLogger(RulesDirectory.class);
  private static final Duration SETTLE = Duration.ofMillis(100);

  private final Path directory;
  private final List<Rule> extraIncludes;
  private final RuleDefaults defaults;
  private final Consumer<RuleSet> listener;
  private final Duration rescanInterval;

  /** Per file name: what was last read, its last good parse, and the current error. */
  private final Map<String, FileState> files = new TreeMap<>();
  private volatile RuleSet current;
  private volatile Map<String, String> errors = Map.of();
  private boolean published;

  private final Object lifecycle = new Object();
  @Nullable private Thread watcher;
  @Nullable private WatchService watchService;
  private volatile boolean closed;

  private record FileState(String content, @Nullable RuleFile good, @Nullable String error) {}

  private RulesDirectory(Builder b) {
    this.directory = b.directory;
    this.extraIncludes = List.copyOf(b.extraIncludes);
    this.defaults = b.defaults;
    this.listener = b.listener;
    this.rescanInterval = b.rescanInterval;
    this.current = build();
  }

  /** Where rule files are looked for when {@value #RULES_DIR_ENV} is unset. */
  public static final Path DEFAULT_RULES_DIR = Path.of("/etc/goscope/rules");

  /**
   * A builder configured from the environment: directory {@value #RULES_DIR_ENV} (default
   * {@link #DEFAULT_RULES_DIR}), {@code GO_APPS} include rules, and {@link RuleDefaults#fromEnv} excluding the agent's
   * own pid.
   */
  public static Builder fromEnv(Map<String, String> env) {
    requireNonNull(env, "env");
    String dir = env.get(RULES_DIR_ENV);
    long self = ProcessHandle.current().pid();
    return builder(dir == null || dir.isBlank() ? DEFAULT_RULES_DIR : Path.of(dir))
        .extraIncludes(GoApps.rules(env.get(GoApps.ENV)))
        .defaults(RuleDefaults.fromEnv(env, p -> p.pid() == self));
  }

  /** A builder for the given directory. */
  public static Builder builder(Path directory) {
    return new Builder(directory);
  }

  /** Builds a {@link RulesDirectory}. */
  public static final class Builder {
    private final Path directory;
    private List<Rule> extraIncludes = List.of();
    private RuleDefaults defaults = RuleDefaults.excludingPid(ProcessHandle.current().pid());
    private Consumer<RuleSet> listener = rules -> {};
    private Duration rescanInterval = DEFAULT_RESCAN_INTERVAL;

    private Builder(Path directory) {
      this.directory = requireNonNull(directory, "directory");
    }

    /** Include rules appended after the file rules (the {@code GO_APPS} rules). */
    public Builder extraIncludes(List<Rule> rules) {
      this.extraIncludes = requireNonNull(rules, "rules");
      return this;
    }

    /** Built-in exclusions; default: the agent's own pid, and kube-system. */
    public Builder defaults(RuleDefaults defaults) {
      this.defaults = requireNonNull(defaults, "defaults");
      return this;
    }

    /** Called with every new rule set (including the first), from the loading thread. */
    public Builder listener(Consumer<RuleSet> listener) {
      this.listener = requireNonNull(listener, "listener");
      return this;
    }

    /** Period of the full rescan; default {@link #DEFAULT_RESCAN_INTERVAL}. */
    public Builder rescanInterval(Duration interval) {
      requireNonNull(interval, "interval");
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("rescanInterval must be positive: " + interval);
      }
      this.rescanInterval = interval;
      return this;
    }

    public RulesDirectory build() {
      return new RulesDirectory(this);
    }
  }

  /** The directory. */
  public Path directory() {
    return directory;
  }

  /** The rules in force. */
  public RuleSet current() {
    return current;
  }

  /** Per file name, the error that keeps its newest version out of force; empty when all files are good. */
  public Map<String, String> errors() {
    return errors;
  }

  /** Loads the directory now (publishing the first rule set) and starts watching it. Idempotent. */
  public void start() {
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("rules directory " + directory + " is closed");
      }
      if (watcher != null) {
        return;
      }
      WatchKey key = register(); // before the first read, so no edit falls between reading and watching
      reload();
      Thread thread = new Thread(() -> watchLoop(key), "goscope-rules-watcher");
      thread.setDaemon(true);
      watcher = thread;
      thread.start();
    }
  }

  /**
   * Reads the directory now; publishes a new rule set when a file's rules changed (or on the first call). Returns
   * the rules in force.
   */
  public synchronized RuleSet reload() {
    boolean changed = !published;
    TreeSet<String> names = listRuleFiles();
    changed |= files.keySet().retainAll(names);
    for (String name : names) {
      String content = read(name);
      FileState before = files.get(name);
      if (content == null) { // vanished while listing
        changed |= files.remove(name) != null;
        continue;
      }
      if (before != null && before.content().equals(content)) {
        continue;
      }
      try {
        RuleFile parsed = RuleFileParser.parse(name, content);
        files.put(name, new FileState(content, parsed, null));
        changed = true;
        log.info("rule file loaded file={} includes={} excludes={}", directory.resolve(name),
            parsed.includes().size(), parsed.excludes().size());
      } catch (RulesFormatException e) {
        RuleFile lastGood = before == null ? null : before.good();
        files.put(name, new FileState(content, lastGood, e.getMessage()));
        log.error("rule file rejected, {} dir={} error={}",
            lastGood == null ? "file ignored" : "keeping its last good version", directory, e.getMessage());
      }
    }
    Map<String, String> newErrors = new TreeMap<>();
    files.forEach((name, state) -> {
      if (state.error() != null) {
        newErrors.put(name, state.error());
      }
    });
    errors = Map.copyOf(newErrors);
    if (changed) {
      RuleSet rules = build();
      current = rules;
      published = true;
      log.info("rules published dir={} rules={}", directory, rules);
      try {
        listener.accept(rules);
      } catch (RuntimeException e) {
        log.error("rules listener failed dir={}", directory, e);
      }
    }
    return current;
  }

  private RuleSet build() {
    List<Rule> includes = new ArrayList<>();
    List<Rule> excludes = new ArrayList<>();
    synchronized (this) {
      for (FileState state : files.values()) {
        if (state.good() != null) {
          includes.addAll(state.good().includes());
          excludes.addAll(state.good().excludes());
        }
      }
    }
    includes.addAll(extraIncludes);
    return new RuleSet(includes, excludes, defaults);
  }

  private TreeSet<String> listRuleFiles() {
    TreeSet<String> names = new TreeSet<>();
    if (!Files.isDirectory(directory)) {
      return names;
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (!name.startsWith(".") && (name.endsWith(".yaml") || name.endsWith(".yml"))
            && Files.isRegularFile(entry)) {
          names.add(name);
        }
      }
    } catch (IOException e) {
      log.warn("cannot list rules directory dir={} error={}", directory, e.toString());
      return new TreeSet<>(files.keySet()); // keep what we have
    }
    return names;
  }

  @Nullable
  private String read(String name) {
    Path file = directory.resolve(name);
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes(RuleFileParser.MAX_FILE_CHARS * 4 + 1);
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      log.warn("cannot read rule file file={} error={}", file, e.toString());
      FileState before = files.get(name);
      return before == null ? null : before.content(); // unreadable: keep the state as it is
    }
  }

  private void watchLoop(@Nullable WatchKey initialKey) {
    long intervalMs = rescanInterval.toMillis();
    WatchKey key = initialKey;
    while (!closed) {
      try {
        if (key == null || !key.isValid()) {
          key = register();
        }
        WatchService service = watchService;
        if (service == null) {
          Thread.sleep(intervalMs);
        } else {
          WatchKey signalled = service.poll(intervalMs, TimeUnit.MILLISECONDS);
          if (signalled != null) {
            Thread.sleep(SETTLE.toMillis()); // let an editor finish writing
            signalled.pollEvents();
            signalled.reset();
          }
        }
        if (!closed) {
          reload();
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      } catch (RuntimeException e) {
        log.error("rules watcher iteration failed dir={}", directory, e);
      }
    }
  }

  @Nullable
  private WatchKey register() {
    if (!Files.isDirectory(directory)) {
      return null;
    }
    try {
      synchronized (lifecycle) {
        if (closed) {
          return null;
        }
        if (watchService == null) {
          watchService = directory.getFileSystem().newWatchService();
        }
        return directory.register(watchService, ENTRY_CREATE, ENTRY_MODIFY, ENTRY_DELETE);
      }
    } catch (IOException e) {
      log.warn("cannot watch rules directory, relying on rescans dir={} error={}", directory, e.toString());
      return null;
    }
  }

  /** Stops watching. Idempotent. */
  @Override
  public void close() {
    Thread thread;
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      closed = true;
      thread = watcher;
      if (watchService != null) {
        try {
          watchService.close();
        } catch (IOException e) {
          log.debug("closing watch service dir={} error={}", directory, e.toString());
        }
      }
    }
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
