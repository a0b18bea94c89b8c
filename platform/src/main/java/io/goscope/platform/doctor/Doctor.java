package io.goscope.platform.doctor;

import static java.util.Objects.requireNonNull;

import io.goscope.platform.agent.AgentConfig;
import io.goscope.platform.doctor.CheckResult.Status;
import io.goscope.platform.export.ExporterRegistry;
import io.goscope.platform.sys.BpfFeatures;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What {@code goscope doctor} checks, and what the agent checks before it starts: the kernel and its BPF features,
 * the capabilities held against those needed, lockdown, the mounts and directories, and whether the OTLP endpoint
 * answers. Each check says what it found and, when it did not pass, how to fix it. Checks marked required are those
 * without which the agent cannot trace anything; the agent refuses to start when one fails.
 */
public final class Doctor {
  /** Kernel needed for BPF ring buffers. */
  static final int[] MIN_KERNEL = {5, 8};

  /** Capability numbers (linux/capability.h). */
  static final Map<String, Integer> CAPABILITIES = new LinkedHashMap<>();

  static {
    CAPABILITIES.put("CAP_BPF", 39);
    CAPABILITIES.put("CAP_PERFMON", 38);
    CAPABILITIES.put("CAP_SYS_PTRACE", 19);
    CAPABILITIES.put("CAP_DAC_READ_SEARCH", 2);
    CAPABILITIES.put("CAP_CHECKPOINT_RESTORE", 40);
  }

  static final int CAP_SYS_ADMIN = 21;

  private final AgentConfig config;
  private final Path sys;
  private final Supplier<Long> capabilities;
  private final Duration connectTimeout;

  /** @param config the agent's configuration (HOST_PROC, directories, OTEL_EXPORTER_OTLP_*) */
  public Doctor(AgentConfig config) {
    this(config, Path.of("/"), BpfFeatures::effectiveCapabilities, Duration.ofSeconds(2));
  }

  Doctor(AgentConfig config, Path root, Supplier<Long> capabilities, Duration connectTimeout) {
    this.config = requireNonNull(config, "config");
    this.sys = root;
    this.capabilities = capabilities;
    this.connectTimeout = connectTimeout;
  }

  /** Runs every check, in table order. */
  public List<CheckResult> run() {
    List<CheckResult> out = new ArrayList<>();
    out.add(kernel());
    out.add(feature("libbpf", BpfFeatures.libbpfProblem(),
        "install libbpf1 (>= 1.1) in the agent's image", true));
    out.add(feature("bpf() system call", BpfFeatures.bpfSyscallProblem(),
        "grant CAP_BPF and CAP_PERFMON (securityContext.capabilities.add), or run privileged", true));
    out.add(feature("BPF ring buffer", BpfFeatures.ringBufferProblem(),
        "needs Linux >= 5.8 and CAP_BPF", true));
    out.add(feature("uprobes", BpfFeatures.uprobeProblem(),
        "use a kernel built with CONFIG_UPROBE_EVENTS=y", true));
    out.add(feature("kernel BTF", BpfFeatures.btfProblem(),
        "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (/sys/kernel/btf/vmlinux)", true));
    out.addAll(capabilityChecks());
    out.add(lockdown());
    out.add(hostProc());
    out.add(directory("binaries directory (GOSCOPE_BINARIES_DIR)", config.binariesDir(), false,
        "mount the shared binaries hostPath there, or ignore: attaching falls back to /proc/<pid>/exe"));
    out.add(directory("plugins directory (GOSCOPE_PLUGINS_DIR)", config.pluginsDir(), true,
        "point GOSCOPE_PLUGINS_DIR at the distribution's plugins/ directory"));
    if (config.rulesDir() != null) {
      out.add(directory("rules directory (GOSCOPE_RULES_DIR)", config.rulesDir(), false,
          "mount the rules ConfigMap at " + config.rulesDir() + " or unset GOSCOPE_RULES_DIR"));
    }
    out.add(tracefs());
    out.add(otlpEndpoint());
    return out;
  }

  /** Whether a check failed. */
  public static boolean anyFailed(List<CheckResult> results) {
    return results.stream().anyMatch(r -> r.status() == Status.FAIL);
  }

  /** Whether a required check failed: the agent must not start. */
  public static boolean requiredFailed(List<CheckResult> results) {
    return results.stream().anyMatch(r -> r.status() == Status.FAIL && r.required());
  }

  CheckResult kernel() {
    String release;
    try {
      release = Files.readString(sys.resolve("proc/sys/kernel/osrelease")).strip();
    } catch (IOException e) {
      return CheckResult.warn("kernel version", "unknown: " + e.getMessage(), "check /proc/sys/kernel/osrelease");
    }
    Matcher m = Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
    if (!m.find()) {
      return CheckResult.warn("kernel version", "unparsable: " + release, "check uname -r");
    }
    int major = Integer.parseInt(m.group(1));
    int minor = Integer.parseInt(m.group(2));
    boolean ok = major > MIN_KERNEL[0] || major == MIN_KERNEL[0] && minor >= MIN_KERNEL[1];
    return ok ? CheckResult.pass("kernel version", release, true)
        : CheckResult.fail("kernel version", release + " (< 5.8)", "upgrade the node to Linux >= 5.8 (BPF ring "
            + "buffer, CAP_BPF)", true);
  }

  private static CheckResult feature(String name, Optional<String> problem, String fix, boolean required) {
    return problem.map(p -> CheckResult.fail(name, p, fix, required))
        .orElseGet(() -> CheckResult.pass(name, "available", required));
  }

  List<CheckResult> capabilityChecks() {
    long caps = capabilities.get();
    boolean admin = (caps & (1L << CAP_SYS_ADMIN)) != 0;
    List<CheckResult> out = new ArrayList<>();
    for (Map.Entry<String, Integer> e : CAPABILITIES.entrySet()) {
      String cap = e.getKey();
      boolean held = (caps & (1L << e.getValue())) != 0;
      String name = "capability " + cap;
      String fix = "add " + cap.substring(4) + " to securityContext.capabilities.add (or run the agent as root "
          + "with it in the bounding set)";
      if (held) {
        out.add(CheckResult.pass(name, "held", false));
        continue;
      }
      switch (cap) {
        case "CAP_BPF", "CAP_PERFMON" -> out.add(admin
            ? CheckResult.pass(name, "not held; CAP_SYS_ADMIN covers it", true)
            : CheckResult.fail(name, "not held: BPF programs and uprobes cannot be loaded", fix, true));
        case "CAP_SYS_PTRACE" -> out.add(CheckResult.fail(name,
            "not held: executables and environments of other users' processes are unreadable", fix, false));
        case "CAP_DAC_READ_SEARCH" -> out.add(CheckResult.fail(name,
            "not held: binaries not readable by the agent's user cannot be analysed", fix, false));
        default -> out.add(CheckResult.warn(name,
            "not held: /proc/<pid>/map_files of traced processes cannot be read", fix));
      }
    }
    out.add(CheckResult.pass("capability CAP_SYS_ADMIN", admin
        ? "held (not needed on Linux >= 5.8: drop it where CAP_BPF and CAP_PERFMON are granted)"
        : "not held (not needed)", false));
    return out;
  }

  CheckResult lockdown() {
    Path p = sys.resolve("sys/kernel/security/lockdown");
    String value;
    try {
      value = Files.readString(p).strip();
    } catch (IOException e) {
      return CheckResult.pass("lockdown", "no lockdown LSM (" + p + " absent)", false);
    }
    Matcher m = Pattern.compile("\\[(\\w+)]").matcher(value);
    String mode = m.find() ? m.group(1) : value;
    return switch (mode) {
      case "none" -> CheckResult.pass("lockdown", "none", false);
      case "integrity" -> CheckResult.warn("lockdown", "integrity: BPF may not write user memory",
          "boot with lockdown=none if trace-context injection is needed");
      default -> CheckResult.warn("lockdown", mode + ": BPF may not read kernel memory",
          "boot with lockdown=none or lockdown=integrity (kernel command line)");
    };
  }

  CheckResult hostProc() {
    String configured = config.properties().getString("host.proc");
    Path proc = configured != null && !configured.isBlank() ? Path.of(configured) : config.hostProc();
    String name = "host /proc (HOST_PROC)";
    if (!Files.isDirectory(proc.resolve("1")) || !Files.exists(proc.resolve("self"))) {
      return CheckResult.fail(name, proc + " is not a proc file system",
          "mount the host's /proc (hostPath /proc) at /host/proc, or set HOST_PROC to where it is", true);
    }
    return CheckResult.pass(name, proc.toString(), true);
  }

  static CheckResult directory(String name, Path dir, boolean needsJars, String fix) {
    if (!Files.isDirectory(dir)) {
      return needsJars ? CheckResult.fail(name, dir + " does not exist", fix, false)
          : CheckResult.warn(name, dir + " does not exist", fix);
    }
    if (!Files.isReadable(dir)) {
      return CheckResult.fail(name, dir + " is not readable", fix, false);
    }
    if (needsJars) {
      try (Stream<Path> files = Files.list(dir)) {
        long jars = files.filter(f -> f.getFileName().toString().endsWith(".jar")).count();
        if (jars == 0) {
          return CheckResult.warn(name, dir + " holds no plugin jar: nothing will be traced", fix);
        }
        return CheckResult.pass(name, dir + " (" + jars + " plugins)", false);
      } catch (IOException e) {
        return CheckResult.fail(name, dir + ": " + e.getMessage(), fix, false);
      }
    }
    return CheckResult.pass(name, dir.toString(), false);
  }

  static CheckResult tracefs() {
    return BpfFeatures.tracefsProblem()
        .map(p -> CheckResult.warn("tracefs", p + "; exec/exit events fall back to the /proc poll",
            "mount tracefs at /sys/kernel/tracing (hostPath) or grant CAP_SYS_ADMIN for the agent to mount it"))
        .orElseGet(() -> CheckResult.pass("tracefs", "mounted", false));
  }

  /** Connects (TCP, and TLS not verified) to the configured traces endpoint; a failure is a warning only. */
  CheckResult otlpEndpoint() {
    ConfigProperties c = config.properties();
    List<String> exporters = ExporterRegistry.configuredNames(c);
    String name = "OTLP endpoint";
    if (!exporters.contains("otlp")) {
      return CheckResult.pass(name, "not used (OTEL_TRACES_EXPORTER=" + String.join(",", exporters) + ")", false);
    }
    String endpoint = endpoint(c);
    URI uri;
    try {
      uri = URI.create(endpoint);
    } catch (IllegalArgumentException e) {
      return CheckResult.fail(name, "invalid endpoint " + endpoint, "set OTEL_EXPORTER_OTLP_ENDPOINT to a URL", false);
    }
    String host = uri.getHost();
    int port = uri.getPort() >= 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
    if (host == null) {
      return CheckResult.fail(name, "invalid endpoint " + endpoint, "set OTEL_EXPORTER_OTLP_ENDPOINT to a URL", false);
    }
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), (int) connectTimeout.toMillis());
      return CheckResult.pass(name, endpoint + " answers", false);
    } catch (IOException e) {
      return CheckResult.warn(name, endpoint + " does not answer: " + e.getMessage(),
          "check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector runs and is reachable from the node; spans "
              + "are queued and retried meanwhile");
    }
  }

  /** The traces endpoint the otlp exporter will use (spec default http/protobuf on 4318, gRPC on 4317). */
  static String endpoint(ConfigProperties c) {
    String traces = c.getString("otel.exporter.otlp.traces.endpoint");
    if (traces != null && !traces.isBlank()) {
      return traces;
    }
    String base = c.getString("otel.exporter.otlp.endpoint");
    if (base != null && !base.isBlank()) {
      return base;
    }
    String protocol = Optional.ofNullable(c.getString("otel.exporter.otlp.traces.protocol"))
        .orElse(c.getString("otel.exporter.otlp.protocol", "http/protobuf"));
    return protocol.toLowerCase(Locale.ROOT).equals("grpc") ? "http://localhost:4317" : "http://localhost:4318";
  }

  /** The table, one line per check, failures and warnings followed by their fix. */
  public static String table(List<CheckResult> results) {
    int width = results.stream().mapToInt(r -> r.name().length()).max().orElse(10);
    StringBuilder sb = new StringBuilder();
    for (CheckResult r : results) {
      sb.append(String.format(Locale.ROOT, "%-4s  %-" + width + "s  %s%n", r.status().name().toLowerCase(Locale.ROOT),
          r.name(), r.detail()));
      if (r.fix() != null) {
        sb.append(String.format(Locale.ROOT, "      %-" + width + "s  fix: %s%n", "", r.fix()));
      }
    }
    long fails = results.stream().filter(r -> r.status() == Status.FAIL).count();
    long warns = results.stream().filter(r -> r.status() == Status.WARN).count();
    sb.append(String.format(Locale.ROOT, "summary: %d pass, %d warn, %d fail%n", results.size() - fails - warns,
        warns, fails));
    return sb.toString();
  }

  /** The results as JSON-ready maps. */
  public static List<Map<String, Object>> asMaps(List<CheckResult> results) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (CheckResult r : results) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("check", r.name());
      m.put("status", r.status().name().toLowerCase(Locale.ROOT));
      m.put("detail", r.detail());
      m.put("fix", r.fix());
      m.put("required", r.required());
      out.add(m);
    }
    return out;
  }
}
