package io.goscope.platform.agent;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.goscope.platform.discovery.ProcFs;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.internal.DefaultConfigProperties;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The agent's settings, read from environment variables and system properties the way the OTel SDK reads them
 * ({@code GOSCOPE_RULES_DIR} and {@code -Dgoscope.rules.dir} are the same key). Documented defaults are constants.
 */
public final class AgentConfig {
  /** Default interval of the /proc poll that discovers new and exited processes. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
  /** Default interval of the full reconcile (re-evaluates every process against the rules). */
  public static final Duration DEFAULT_RECONCILE_INTERVAL = Duration.ofSeconds(30);
  /** Default interval at which the ring buffer is drained (no per-event wake-ups). */
  public static final Duration DEFAULT_DRAIN_INTERVAL = Duration.ofMillis(10);
  /** Default ring buffer size: 8 MiB. */
  public static final int DEFAULT_RING_BUFFER_BYTES = 8 << 20;

  private final ConfigProperties config;
  private final Path goscopeHome;

  private AgentConfig(ConfigProperties config, Path goscopeHome) {
    this.config = requireNonNull(config, "config");
    this.goscopeHome = goscopeHome;
  }

  /** Reads the process environment and system properties over {@code defaults} (property-style keys). */
  public static AgentConfig fromEnvironment(Map<String, String> defaults) {
    ConfigProperties props = DefaultConfigProperties.create(
        defaults, io.opentelemetry.common.ComponentLoader.forClassLoader(AgentConfig.class.getClassLoader()));
    String home = System.getProperty("goscope.home", ".");
    return new AgentConfig(props, Path.of(home).toAbsolutePath().normalize());
  }

  public static AgentConfig fromEnvironment() {
    return fromEnvironment(Collections.emptyMap());
  }

  /** The full configuration, for components (exporters, discovery sources) that read their own keys. */
  public ConfigProperties properties() {
    return config;
  }

  /** {@code GO_APPS}: executable names to trace. */
  public List<String> goApps() {
    return config.getList("go.apps");
  }

  /** {@code HOST_PROC}: the host's /proc; defaults to /host/proc and falls back to /proc when that is missing. */
  public Path hostProc() {
    String configured = config.getString("host.proc");
    return ProcFs.defaultRoot(configured == null ? Map.of() : Map.of(ProcFs.HOST_PROC_ENV, configured));
  }


  /** {@code GOSCOPE_PLUGINS_DIR}: plugin jars; defaults to {@code plugins/} in the distribution. */
  public Path pluginsDir() {
    String dir = config.getString("goscope.plugins.dir");
    return dir != null ? Path.of(dir) : goscopeHome.resolve("plugins");
  }

  /** {@code GOSCOPE_PLUGINS_ENABLED}: when set, only these plugin ids start. */
  public List<String> pluginsEnabled() {
    return config.getList("goscope.plugins.enabled");
  }

  /** {@code GOSCOPE_PLUGINS_DISABLED}: plugin ids that never start. */
  public List<String> pluginsDisabled() {
    return config.getList("goscope.plugins.disabled");
  }

  /** {@code GOSCOPE_RULES_DIR}: YAML selection rules, or null. */
  @Nullable
  public Path rulesDir() {
    String dir = config.getString("goscope.rules.dir");
    return dir == null || dir.isBlank() ? null : Path.of(dir);
  }

  /** {@code GOSCOPE_OFFSETS_DIR}: extra offset bundles, watched, or null. */
  @Nullable
  public Path offsetsDir() {
    String dir = config.getString("goscope.offsets.dir");
    return dir == null || dir.isBlank() ? null : Path.of(dir);
  }

  /** {@code GOSCOPE_BINARIES_DIR}: the shared hostPath for application binaries. */
  public Path binariesDir() {
    return Path.of(config.getString("goscope.binaries.dir", "/var/lib/apm-binaries"));
  }

  public Duration pollInterval() {
    return config.getDuration("goscope.poll.interval", DEFAULT_POLL_INTERVAL);
  }

  public Duration reconcileInterval() {
    return config.getDuration("goscope.reconcile.interval", DEFAULT_RECONCILE_INTERVAL);
  }

  /** {@code GOSCOPE_STATS_INTERVAL}: how often the agent logs its counters (default 60 s). */
  public Duration statsInterval() {
    return config.getDuration("goscope.stats.interval", Duration.ofSeconds(60));
  }

  public Duration drainInterval() {
    return config.getDuration("goscope.drain.interval", DEFAULT_DRAIN_INTERVAL);
  }

  public int ringBufferBytes() {
    int v = config.getInt("goscope.ring.buffer.bytes", DEFAULT_RING_BUFFER_BYTES);
    if (v < 4096 || Integer.bitCount(v) != 1) {
      throw new IllegalArgumentException("GOSCOPE_RING_BUFFER_BYTES must be a power of two >= 4096: " + v);
    }
    return v;
  }

  /**
   * {@code GOSCOPE_BINARY_LINGER}: how long a binary of the shared binaries directory stays attached after its last
   * process exited, so that a restarted process is traced from its first instruction without an attach (default
   * 2 minutes; 0 detaches at once).
   */
  public Duration binaryLinger() {
    return config.getDuration("goscope.binary.linger", Duration.ofMinutes(2));
  }

  /**
   * {@code GOSCOPE_HOST_BINARY_LINGER}: the same for a binary on the host's own file system (default 10 s): a file
   * there may be rewritten in place, so the wait is short, and a watch detaches it at once when the file changes.
   */
  public Duration hostBinaryLinger() {
    return config.getDuration("goscope.host.binary.linger", Duration.ofSeconds(10));
  }

  /**
   * {@code GOSCOPE_CONTEXT_ENTRIES}: goroutines that may have an active span at once, over every traced process of
   * the node (the size of the shared trace-context map; default 16384, about 1.6 MB of kernel memory).
   */
  public int contextEntries() {
    int v = config.getInt("goscope.context.entries", 16384);
    if (v < 1024 || v > (1 << 22)) {
      throw new IllegalArgumentException("GOSCOPE_CONTEXT_ENTRIES must be within 1024..4194304: " + v);
    }
    return v;
  }

  /**
   * {@code GOSCOPE_CGROUP_ROOT}: the cgroup v2 hierarchy of the node, where socket-level propagation attaches its
   * sock_ops program. Unset: the first cgroup v2 mount of /host/sys/fs/cgroup (the chart mounts the host's there),
   * /host/sys/fs/cgroup/unified, /sys/fs/cgroup and /sys/fs/cgroup/unified (hybrid layouts).
   */
  public List<Path> cgroupRootCandidates() {
    String configured = config.getString("goscope.cgroup.root");
    if (configured != null && !configured.isBlank()) {
      return List.of(Path.of(configured));
    }
    return List.of(Path.of("/host/sys/fs/cgroup"), Path.of("/host/sys/fs/cgroup/unified"), Path.of("/sys/fs/cgroup"),
        Path.of("/sys/fs/cgroup/unified"));
  }

  /** Default grace period of a graceful stop (SIGTERM): detach, then flush the export queues. */
  public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);

  /**
   * {@code GOSCOPE_ADMIN_ADDR}: where the admin endpoint (/healthz, /readyz, /metrics) listens: {@code host:port},
   * {@code :port} (default {@code :6060}) or {@code off}. The raw value; see {@code AdminServer.parseAddress}.
   */
  @Nullable
  public String adminAddress() {
    return config.getString("goscope.admin.addr");
  }

  /**
   * {@code GOSCOPE_SHUTDOWN_TIMEOUT}: how long a graceful stop may take in all (default 10 s, well within Kubernetes'
   * default 30 s termination grace period); what is not flushed by then is counted as dropped.
   */
  public Duration shutdownTimeout() {
    return config.getDuration("goscope.shutdown.timeout", DEFAULT_SHUTDOWN_TIMEOUT);
  }

  /**
   * {@code GOSCOPE_SELF_METRICS_EXPORT}: whether the agent's own metrics also go to the configured metric exporters
   * (default true; they are always on /metrics).
   */
  public boolean selfMetricsExport() {
    return config.getBoolean("goscope.self.metrics.export", true);
  }

  /** {@code NODE_NAME} from the downward API, or null outside Kubernetes. */
  @Nullable
  public String nodeName() {
    return config.getString("node.name");
  }

  public Path goscopeHome() {
    return goscopeHome;
  }
}
