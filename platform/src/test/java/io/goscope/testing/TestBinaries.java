package io.goscope.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Go binaries built by others, fetched by {@code .ci/fetch-test-binaries} (the Makefile's test target passes their
 * paths in environment variables). A test that needs one skips with the reason when it is not configured, and fails
 * instead under {@code CI=true}, where a missing binary means the fetch failed.
 */
public final class TestBinaries {
  /** Path of esbuild's npm package binary ({@code .ci/fetch-test-binaries esbuild}): stripped, built with Go 1.26. */
  public static final String ESBUILD = "GOSCOPE_ESBUILD";

  /** Paths of the {@code esbuild-matrix} binaries, one a line (or separated by the path separator). */
  public static final String ESBUILD_MATRIX = "GOSCOPE_ESBUILD_MATRIX";

  /** GOROOTs of extra Go toolchains ({@code .ci/fetch-test-binaries go-toolchains}), one a line (or path-separated). */
  public static final String GO_TOOLCHAINS = "GOSCOPE_GO_TOOLCHAINS";

  private static final String SEPARATORS = "[\\r\\n" + java.io.File.pathSeparator + "]+";
  private static final Pattern VERSION = Pattern.compile("\"version\"\\s*:\\s*\"([^\"]+)\"");

  /**
   * The newest Go release the tests build with: newer than the installed toolchains, fetched by the go command from
   * the module proxy ({@code GOTOOLCHAIN}).
   */
  public static final String NEWEST_GO = "go1.27.3";

  private TestBinaries() {}

  /**
   * Go release {@code release} ({@code go1.27.3}), fetched from the module proxy by the module-mode toolchain
   * ({@link GoToolchain#modules()}); skips, or fails under CI, when there is no such toolchain or the fetch fails.
   */
  public static GoToolchain goRelease(String release) {
    java.util.Optional<GoToolchain> base = GoToolchain.modules();
    if (base.isEmpty()) {
      BpfAssumptions.skipOrFail("no Go toolchain for module builds (GOSCOPE_GO_MODULES or /usr/local/go) to fetch "
          + release + " with");
    }
    try {
      return base.get().withToolchain(release);
    } catch (IllegalStateException e) {
      BpfAssumptions.skipOrFail("cannot fetch " + release + " through the module proxy: " + e.getMessage());
      throw e;
    }
  }

  /**
   * The esbuild binary of {@value #ESBUILD} (env or system property); skips, or fails under CI, when it is not set or
   * not an executable file.
   */
  public static Path esbuild() {
    String configured = System.getProperty(ESBUILD, System.getenv(ESBUILD));
    if (configured == null || configured.isBlank()) {
      BpfAssumptions.skipOrFail(ESBUILD + " not set: run ./.ci/fetch-test-binaries esbuild and pass its output (the"
          + " Makefile's test target does)");
    }
    Path p = Path.of(configured);
    if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
      BpfAssumptions.skipOrFail(ESBUILD + "=" + p + " is not an executable file (did the fetch fail?)");
    }
    return p;
  }

  /**
   * The esbuild release {@code version} from {@value #ESBUILD_MATRIX} (env or system property), identified by the
   * {@code package.json} next to its {@code bin/}; skips or (CI) fails when it is not there.
   */
  public static Path esbuild(String version) {
    String configured = System.getProperty(ESBUILD_MATRIX, System.getenv(ESBUILD_MATRIX));
    if (configured == null || configured.isBlank()) {
      BpfAssumptions.skipOrFail(ESBUILD_MATRIX + " not set: run ./.ci/fetch-test-binaries esbuild-matrix and pass"
          + " its output (the Makefile's test target does)");
    }
    Map<String, Path> byVersion = esbuildsByVersion(configured);
    Path p = byVersion.get(version);
    if (p == null) {
      BpfAssumptions.skipOrFail("esbuild " + version + " not among " + ESBUILD_MATRIX + " " + byVersion.keySet()
          + " (did ./.ci/fetch-test-binaries esbuild-matrix fail?)");
    }
    return p;
  }

  /**
   * The toolchains listed in {@value #GO_TOOLCHAINS} (env or system property), in order; empty when it is not set,
   * so that a test parameterized over them can still run its other cases (see {@link #requireGoToolchains()}).
   * A listed directory that is not a toolchain fails where it is used ({@link GoToolchain#at}).
   */
  public static List<Path> goToolchainRoots() {
    String configured = System.getProperty(GO_TOOLCHAINS, System.getenv(GO_TOOLCHAINS));
    if (configured == null) {
      return List.of();
    }
    return Arrays.stream(configured.split(SEPARATORS)).map(String::strip).filter(s -> !s.isEmpty())
        .map(Path::of).toList();
  }

  /** Skips, or fails under CI, when {@value #GO_TOOLCHAINS} lists no toolchain. */
  public static void requireGoToolchains() {
    if (goToolchainRoots().isEmpty()) {
      BpfAssumptions.skipOrFail(GO_TOOLCHAINS + " not set: run ./.ci/fetch-test-binaries go-toolchains and pass its"
          + " output (the Makefile's test target does)");
    }
  }

  private static Map<String, Path> esbuildsByVersion(String configured) {
    Map<String, Path> out = new LinkedHashMap<>();
    for (String s : configured.split(SEPARATORS)) {
      Path bin = Path.of(s.trim());
      if (s.isBlank() || !Files.isRegularFile(bin)) {
        continue;
      }
      Path pkg = bin.toAbsolutePath().getParent().resolveSibling("package.json");
      try {
        Matcher m = VERSION.matcher(Files.isRegularFile(pkg) ? Files.readString(pkg) : "");
        if (m.find()) {
          out.put(m.group(1), bin);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("read " + pkg, e);
      }
    }
    return out;
  }
}
