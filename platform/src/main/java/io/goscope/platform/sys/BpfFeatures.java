package io.goscope.platform.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cached checks of what the agent needs from this host: root or CAP_BPF + CAP_PERFMON, libbpf.so.1, kernel BTF
 * and BPF ring buffers (kernel 5.8). Each is checked once per process.
 */
public final class BpfFeatures {
  private static final Logger LOG = LoggerFactory.getLogger(BpfFeatures.class);

  static final int CAP_SYS_ADMIN = 21;
  static final int CAP_PERFMON = 38;
  static final int CAP_BPF = 39;
  private static final int BPF_MAP_TYPE_ARRAY = 2;

  private static final class Result {
    static final Optional<String> UNAVAILABLE = probe();
  }

  private static final class WriteUser {
    static final Optional<String> UNAVAILABLE = probeWriteUser();
  }

  private BpfFeatures() {}

  /**
   * Why uprobe programs cannot write into traced processes' memory ({@code bpf_probe_write_user}, which outgoing
   * trace-context propagation over TLS and HTTP/2 needs), or empty when they can: kernel lockdown forbids the helper
   * (integrity and confidentiality modes), and so does a missing CAP_SYS_ADMIN.
   */
  public static Optional<String> memoryWriteUnavailableReason() {
    return WriteUser.UNAVAILABLE;
  }

  private static Optional<String> probeWriteUser() {
    if (unavailableReason().isPresent()) {
      return unavailableReason();
    }
    String lockdown = lockdownMode();
    byte[] object;
    try (java.io.InputStream in = BpfFeatures.class.getClassLoader()
        .getResourceAsStream("bpf/feature_write_user.bpf.o")) {
      if (in == null) {
        return Optional.of("feature probe bpf/feature_write_user.bpf.o missing from the platform jar");
      }
      object = in.readAllBytes();
    } catch (IOException e) {
      return Optional.of("feature probe unreadable: " + e.getMessage());
    }
    try (BpfObject o = BpfObject.open("feature_write", object)) {
      o.load();
      return Optional.empty();
    } catch (BpfException e) {
      String why = "the kernel refuses bpf_probe_write_user";
      if (!lockdown.isEmpty() && !lockdown.equals("none")) {
        why += " (kernel lockdown=" + lockdown + ")";
      } else if (e.getMessage() != null && e.getMessage().contains("cannot use helper")) {
        why += " (kernel lockdown, or a missing CAP_SYS_ADMIN)";
      } else {
        why += ": " + e.getMessage().lines().findFirst().orElse("");
      }
      LOG.info("memory writes unavailable reason=\"{}\"", why);
      return Optional.of(why);
    }
  }

  /**
   * The kernel's lockdown mode ({@code none}, {@code integrity}, {@code confidentiality}) from
   * {@code /sys/kernel/security/lockdown}, or "" when securityfs is not mounted or the kernel has no lockdown LSM.
   */
  public static String lockdownMode() {
    Path file = Path.of("/sys/kernel/security/lockdown");
    try {
      String text = Files.readString(file);
      int open = text.indexOf('[');
      int close = text.indexOf(']', open + 1);
      return open >= 0 && close > open ? text.substring(open + 1, close) : "";
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  /**
   * Why the kernel cannot run the socket programs of socket-level propagation (cgroup sock_ops, sk_msg, sockhash
   * maps: CONFIG_CGROUP_BPF, CONFIG_BPF_STREAM_PARSER / CONFIG_NET_SOCK_MSG), or empty when it can.
   */
  public static Optional<String> socketProgramsUnavailableReason() {
    if (unavailableReason().isPresent()) {
      return unavailableReason();
    }
    String[][] checks = {
      {"prog", String.valueOf(Libbpf.BPF_PROG_TYPE_SOCK_OPS), "sock_ops programs (CONFIG_CGROUP_BPF)"},
      {"prog", String.valueOf(Libbpf.BPF_PROG_TYPE_SK_MSG), "sk_msg programs (CONFIG_NET_SOCK_MSG)"},
      {"map", String.valueOf(Libbpf.BPF_MAP_TYPE_SOCKHASH), "sockhash maps (CONFIG_BPF_STREAM_PARSER)"},
    };
    for (String[] c : checks) {
      int type = Integer.parseInt(c[1]);
      int rc = c[0].equals("prog") ? Libbpf.lib().libbpf_probe_bpf_prog_type(type, null)
          : Libbpf.lib().libbpf_probe_bpf_map_type(type, null);
      if (rc == 0) {
        return Optional.of("the kernel has no " + c[2]);
      }
      if (rc < 0) {
        return Optional.of("cannot probe for " + c[2] + ": " + Errno.name(-rc));
      }
    }
    return Optional.empty();
  }

  /** Why BPF tracing cannot work here, or empty when it can. */
  public static Optional<String> unavailableReason() {
    return Result.UNAVAILABLE;
  }

  /** Throws {@link UnsupportedFeatureException} with the reason when BPF tracing cannot work here. */
  public static void requireBpf() {
    Optional<String> reason = unavailableReason();
    if (reason.isPresent()) {
      throw new UnsupportedFeatureException("BPF", reason.get());
    }
  }

  private static Optional<String> probe() {
    Optional<String> reason = probeUncached();
    reason.ifPresentOrElse(
        r -> LOG.info("BPF unavailable reason=\"{}\"", r), () -> LOG.debug("BPF available"));
    return reason;
  }

  private static Optional<String> probeUncached() {
    String libFailure = Libbpf.loadFailure();
    if (libFailure != null) {
      return Optional.of(Libbpf.LIBRARY + " missing (install libbpf1 >= 1.1): " + libFailure);
    }
    int uid;
    try {
      uid = Libc.lib().geteuid();
    } catch (RuntimeException | LinkageError e) {
      return Optional.of("cannot call libc: " + e);
    }
    if (uid != 0) {
      long caps = effectiveCapabilities();
      boolean bpf = (caps & (1L << CAP_BPF)) != 0 || (caps & (1L << CAP_SYS_ADMIN)) != 0;
      boolean perfmon = (caps & (1L << CAP_PERFMON)) != 0 || (caps & (1L << CAP_SYS_ADMIN)) != 0;
      if (!bpf || !perfmon) {
        return Optional.of(
            "needs root or CAP_BPF and CAP_PERFMON; uid=" + uid + " CapEff=0x" + Long.toHexString(caps));
      }
    }
    if (!Files.exists(Path.of("/sys/kernel/btf/vmlinux"))) {
      return Optional.of("no kernel BTF (/sys/kernel/btf/vmlinux missing; needs CONFIG_DEBUG_INFO_BTF)");
    }
    int rc = Libbpf.lib().libbpf_probe_bpf_map_type(Libbpf.BPF_MAP_TYPE_RINGBUF, null);
    if (rc == 0) {
      return Optional.of("no BPF ring buffer support (needs kernel 5.8)");
    }
    if (rc < 0) {
      return Optional.of(
          "cannot probe BPF ring buffer support: " + Errno.name(-rc) + " (" + Errno.message(-rc) + ")");
    }
    return Optional.empty();
  }

  /** Why libbpf.so.1 cannot be used, or empty. Uncached (for {@code goscope doctor}). */
  public static Optional<String> libbpfProblem() {
    String failure = Libbpf.loadFailure();
    return failure == null ? Optional.empty()
        : Optional.of(Libbpf.LIBRARY + " cannot be loaded: " + failure);
  }

  /** Why the bpf() system call cannot create a map here (e.g. EPERM without CAP_BPF), or empty. Uncached. */
  public static Optional<String> bpfSyscallProblem() {
    return mapTypeProblem(BPF_MAP_TYPE_ARRAY, "bpf() system call", "");
  }

  /** Why BPF ring buffers cannot be created here (kernel < 5.8, or no permission), or empty. Uncached. */
  public static Optional<String> ringBufferProblem() {
    return mapTypeProblem(Libbpf.BPF_MAP_TYPE_RINGBUF, "BPF ring buffer", " (needs kernel 5.8)");
  }

  /** Why uprobes cannot be created through perf_event_open (no uprobe PMU), or empty. */
  public static Optional<String> uprobeProblem() {
    Path type = Path.of("/sys/bus/event_source/devices/uprobe/type");
    try {
      Integer.parseInt(Files.readString(type).strip());
      return Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.of("no uprobe PMU (" + type + " unreadable: " + e.getMessage()
          + "; needs CONFIG_UPROBE_EVENTS)");
    }
  }

  /** Why kernel BTF is missing, or empty. */
  public static Optional<String> btfProblem() {
    return Files.isReadable(Path.of("/sys/kernel/btf/vmlinux")) ? Optional.empty()
        : Optional.of("/sys/kernel/btf/vmlinux missing (needs CONFIG_DEBUG_INFO_BTF)");
  }

  /**
   * Whether tracefs is reachable for tracepoints (exec/exit events); the agent tries to mount it at start when it is
   * not. Empty when mounted.
   */
  public static Optional<String> tracefsProblem() {
    if (Files.isDirectory(Tracefs.TRACING.resolve("events"))
        || Files.isDirectory(Path.of("/sys/kernel/debug/tracing/events"))) {
      return Optional.empty();
    }
    return Optional.of(Files.isDirectory(Tracefs.TRACING)
        ? "tracefs not mounted at " + Tracefs.TRACING + " (the agent mounts it at start when it may)"
        : "tracefs not mounted and " + Tracefs.TRACING + " does not exist");
  }

  private static Optional<String> mapTypeProblem(int mapType, String what, String needs) {
    if (Libbpf.loadFailure() != null) {
      return Optional.of("libbpf unavailable");
    }
    int rc;
    try {
      rc = Libbpf.lib().libbpf_probe_bpf_map_type(mapType, null);
    } catch (RuntimeException | LinkageError e) {
      return Optional.of("cannot call libbpf: " + e);
    }
    if (rc == 1) {
      return Optional.empty();
    }
    long caps = effectiveCapabilities();
    boolean privileged = (caps & (1L << CAP_BPF)) != 0 || (caps & (1L << CAP_SYS_ADMIN)) != 0;
    if (rc == 0 && !privileged) {
      // libbpf's probe reports "unsupported" for any failure; without CAP_BPF the kernel said EPERM.
      return Optional.of(what + " refused: EPERM (neither CAP_BPF nor CAP_SYS_ADMIN held; CapEff=0x"
          + Long.toHexString(caps) + ")");
    }
    if (rc == 0) {
      return Optional.of(what + " not supported by this kernel" + needs);
    }
    return Optional.of(what + " refused: " + Errno.name(-rc) + " (" + Errno.message(-rc) + ")");
  }

  /** CapEff from /proc/self/status, or 0 when unreadable. */
  public static long effectiveCapabilities() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("CapEff:")) {
          return Long.parseUnsignedLong(line.substring(7).strip(), 16);
        }
      }
    } catch (IOException | NumberFormatException e) {
      LOG.debug("cannot read capabilities", e);
    }
    return 0;
  }
}
