package io.goscope.testing;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Go toolchain that tests build with: the {@code go} on the PATH (Debian's golang-go), or a full toolchain at a
 * GOROOT, such as the bookworm-backports ones {@code .ci/fetch-test-binaries go-toolchains} extracts. A GOROOT
 * toolchain runs with {@code GOTOOLCHAIN=local} (never a download) and a GOCACHE of its own under the module's
 * {@code target/}, so repeated runs skip the cold standard-library build; the PATH one keeps the shared
 * {@code /tmp} cache of every other test build.
 */
public final class GoToolchain {
  private static final Path INSTALLED_CACHE = Path.of("/tmp/gocache-goscope-tests");
  private static final GoToolchain INSTALLED = new GoToolchain(null);

  private final @Nullable Path goroot;
  private volatile @Nullable String version;

  private GoToolchain(@Nullable Path goroot) {
    this.goroot = goroot;
  }

  /** The {@code go} on the PATH. */
  public static GoToolchain installed() {
    return INSTALLED;
  }

  /** The toolchain at {@code goroot}, which must hold {@code bin/go}. */
  public static GoToolchain at(Path goroot) {
    requireNonNull(goroot, "goroot");
    Path abs = goroot.toAbsolutePath().normalize();
    if (!Files.isExecutable(abs.resolve("bin/go"))) {
      throw new IllegalArgumentException("not a Go toolchain: " + abs.resolve("bin/go") + " missing");
    }
    return new GoToolchain(abs);
  }

  /** The toolchain's version as binaries it builds report it ({@code go env GOVERSION}, e.g. {@code go1.21.13}). */
  public String version() {
    String v = version;
    if (v == null) {
      List<String> cmd = command("env", "GOVERSION");
      v = GoBuilder.run(cmd, environment()).strip();
      if (!v.startsWith("go1.")) {
        throw new IllegalStateException(cmd + " printed " + v);
      }
      version = v;
    }
    return v;
  }

  /** {@code go args...} of this toolchain. */
  public List<String> command(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(goroot == null ? "go" : goroot.resolve("bin/go").toString());
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** Environment that selects this toolchain and its build cache. */
  public Map<String, String> environment() {
    Map<String, String> env = new LinkedHashMap<>();
    if (goroot == null) {
      env.put("GOCACHE", INSTALLED_CACHE.toString());
    } else {
      env.put("GOROOT", goroot.toString());
      env.put("GOTOOLCHAIN", "local");
      // Keyed by GOROOT, not version: version() itself runs go, and two trees may carry one version string.
      env.put("GOCACHE", Path.of("target", "gocache", cacheName(goroot)).toAbsolutePath().toString());
    }
    return env;
  }

  private static String cacheName(Path goroot) {
    return goroot.getFileName() + "-" + Integer.toHexString(goroot.toString().hashCode());
  }

  @Override
  public String toString() {
    return goroot == null ? "go on the PATH" : goroot.toString();
  }
}
