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
 * A Go toolchain that tests build with, always called by its full path: which {@code go} comes first on the PATH
 * differs between machines (Debian's golang-go 1.19 in /usr/bin, or a newer Go in /usr/local/go/bin).
 *
 * <ul>
 *   <li>{@link #installed()}: Debian's golang-go ({@code /usr/lib/go/bin/go}, Go 1.19), which {@code make} installs;
 *       the GOPATH-mode fixtures (and Debian's GOPATH libraries) are built with it;
 *   <li>{@link #modules()}: a current Go for module builds (test apps with real library versions from the module
 *       proxy): {@code GOSCOPE_GO_MODULES}, as {@code make test} sets it, else {@code /usr/local/go};
 *   <li>{@link #at(Path)}: a full toolchain at a GOROOT, such as the Debian ones {@code .ci/fetch-test-binaries
 *       go-toolchains} extracts.
 * </ul>
 *
 * <p>A GOROOT toolchain runs with {@code GOTOOLCHAIN=local} (never a download; {@link #withToolchain} fetches a
 * newer release once) and a GOCACHE of its own under the module's {@code target/}, so repeated runs skip the cold
 * standard-library build.
 */
public final class GoToolchain {
  private static final Path INSTALLED_CACHE = Path.of("/tmp/gocache-goscope-tests");
  /** Debian's golang-go GOROOT. */
  private static final Path DEBIAN_GOROOT = Path.of("/usr/lib/go");
  private static final GoToolchain INSTALLED =
      Files.isExecutable(DEBIAN_GOROOT.resolve("bin/go")) ? new GoToolchain(DEBIAN_GOROOT, true)
          : new GoToolchain(null, true);

  private final @Nullable Path goroot;
  /** Whether this is the installed toolchain, which shares one /tmp build cache with every other test build. */
  private final boolean shared;
  private volatile @Nullable String version;

  private GoToolchain(@Nullable Path goroot, boolean shared) {
    this.goroot = goroot;
    this.shared = shared;
  }

  /**
   * Debian's golang-go (Go 1.19, {@code /usr/lib/go}), the toolchain {@code make} installs; the {@code go} on the
   * PATH only where Debian's is missing.
   */
  public static GoToolchain installed() {
    return INSTALLED;
  }

  /**
   * A current Go for module builds: the GOROOT in {@code GOSCOPE_GO_MODULES} (set by {@code make test}), else
   * {@code /usr/local/go}. Empty when neither holds a toolchain.
   */
  public static java.util.Optional<GoToolchain> modules() {
    String env = System.getenv("GOSCOPE_GO_MODULES");
    for (String candidate : new String[] {env, "/usr/local/go"}) {
      if (candidate != null && !candidate.isBlank() && Files.isExecutable(Path.of(candidate, "bin/go"))) {
        return java.util.Optional.of(at(Path.of(candidate)));
      }
    }
    return java.util.Optional.empty();
  }

  /**
   * Another Go release ({@code go1.27.3}) as this toolchain's go command fetches it from the module proxy with
   * {@code GOTOOLCHAIN} (once; it stays in the module cache), returned as the plain GOROOT toolchain it unpacked
   * to. The go command switches toolchains only in module mode, so a GOTOOLCHAIN variable on a GOPATH-mode build
   * would be ignored and the build would silently use this toolchain's own Go; resolving the GOROOT once makes
   * GOPATH and module builds alike use the release asked for. Needs a toolchain of Go 1.21 or later.
   */
  public GoToolchain withToolchain(String release) {
    requireNonNull(release, "release");
    if (!release.matches("go1\\.\\d+(\\.\\d+)?")) {
      throw new IllegalArgumentException("not a Go release: " + release);
    }
    return SWITCHED.computeIfAbsent(this + " " + release, k -> {
      Map<String, String> env = new LinkedHashMap<>(environment());
      env.remove("GOROOT");
      env.put("GOTOOLCHAIN", release);
      env.put("GO111MODULE", "on");
      env.put("GOFLAGS", "");
      String root = GoBuilder.run(command("env", "GOROOT"), env).strip();
      GoToolchain switched = at(Path.of(root));
      if (!switched.version().equals(release)) {
        throw new IllegalStateException("GOTOOLCHAIN=" + release + " resolved to " + root + ", which is "
            + switched.version());
      }
      return switched;
    });
  }

  private static final Map<String, GoToolchain> SWITCHED = new java.util.concurrent.ConcurrentHashMap<>();

  /** The toolchain at {@code goroot}, which must hold {@code bin/go}. */
  public static GoToolchain at(Path goroot) {
    requireNonNull(goroot, "goroot");
    Path abs = goroot.toAbsolutePath().normalize();
    if (!Files.isExecutable(abs.resolve("bin/go"))) {
      throw new IllegalArgumentException("not a Go toolchain: " + abs.resolve("bin/go") + " missing");
    }
    return new GoToolchain(abs, false);
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
    if (shared) {
      env.put("GOCACHE", INSTALLED_CACHE.toString());
    }
    if (goroot != null) {
      env.put("GOROOT", goroot.toString());
      env.put("GOTOOLCHAIN", "local");
      if (!shared) {
        // Keyed by GOROOT, not version: version() itself runs go, and two trees may carry one version string.
        env.put("GOCACHE", Path.of("target", "gocache", cacheName()).toAbsolutePath().toString());
      }
    }
    return env;
  }

  private String cacheName() {
    return goroot.getFileName() + "-" + Integer.toHexString(goroot.toString().hashCode());
  }

  /** Whether this toolchain's go command runs ({@code go version}). */
  public boolean available() {
    try {
      Process p = new ProcessBuilder(command("version")).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (java.io.IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public String toString() {
    return goroot == null ? "go on the PATH" : goroot.toString();
  }
}
