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

  /** CapEff from /proc/self/status, or 0 when unreadable. */
  static long effectiveCapabilities() {
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
