package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import java.util.Locale;

/**
 * Where a BPF object for this host's architecture sits among a plugin's (or the platform's) resources:
 * {@code bpf/nethttp.bpf.o} is built by {@code bpf-programs/build-bpf.sh} as {@code bpf/x86_64/nethttp.bpf.o} and
 * {@code bpf/aarch64/nethttp.bpf.o} (the names {@code uname -m} prints), next to the plain resource built for the
 * build host, which plugins built before arm64 support have alone.
 */
public final class BpfObjectResources {
  private BpfObjectResources() {}

  /** This JVM's architecture as {@code uname -m} names it ({@code x86_64}, {@code aarch64}), else null. */
  public static @Nullable String hostArch() {
    return unameArch(System.getProperty("os.arch", ""));
  }

  /** {@code os.arch} ({@code amd64}, {@code x86_64}, {@code aarch64}, {@code arm64}) as {@code uname -m} names it. */
  static @Nullable String unameArch(String osArch) {
    return switch (osArch.toLowerCase(Locale.ROOT)) {
      case "amd64", "x86_64" -> "x86_64";
      case "aarch64", "arm64" -> "aarch64";
      default -> null;
    };
  }

  /** {@code resource} in the directory of architecture {@code arch}: {@code bpf/x.o} becomes {@code bpf/<arch>/x.o}. */
  public static String forArch(String resource, String arch) {
    requireNonNull(resource, "resource");
    requireNonNull(arch, "arch");
    int slash = resource.lastIndexOf('/');
    return resource.substring(0, slash + 1) + arch + "/" + resource.substring(slash + 1);
  }
}
