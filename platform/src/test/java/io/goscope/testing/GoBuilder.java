package io.goscope.testing;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds Go programs for tests, in GOPATH mode (GO111MODULE=off, GOFLAGS empty), with the installed toolchain or a
 * given {@link GoToolchain} (each with its own GOCACHE). Results are cached: a build is skipped when {@code out}
 * exists and a sidecar {@code out.sha256} matches the hash of the toolchain, sources, flags and environment.
 */
public final class GoBuilder {
  private static final long TIMEOUT_MINUTES = 5;

  private GoBuilder() {}

  /** Whether the installed toolchain ({@link GoToolchain#installed()}) runs. */
  public static boolean goAvailable() {
    return GoToolchain.installed().available();
  }

  /** {@code go args...} of the installed toolchain, by its full path. */
  public static List<String> go(String... args) {
    return GoToolchain.installed().command(args);
  }

  /** Builds a single-file {@code main} package from source text. */
  public static Path build(String source, Path out, List<String> goFlags, Map<String, String> env) {
    requireNonNull(source, "source");
    try {
      Path src = Files.createDirectories(out.toAbsolutePath().getParent().resolve(out.getFileName() + ".src"));
      Path main = src.resolve("main.go");
      if (!Files.exists(main) || !Files.readString(main).equals(source)) {
        Files.writeString(main, source);
      }
      return build(src, out, goFlags, env);
    } catch (IOException e) {
      throw new UncheckedIOException("write Go source for " + out, e);
    }
  }

  /** Builds the {@code main} package in {@code srcDir} into {@code out} with the installed toolchain. */
  public static Path build(Path srcDir, Path out, List<String> goFlags, Map<String, String> env) {
    return build(GoToolchain.installed(), srcDir, out, goFlags, env);
  }

  /** Builds the {@code main} package in {@code srcDir} into {@code out} with {@code toolchain}, in GOPATH mode. */
  public static Path build(GoToolchain toolchain, Path srcDir, Path out, List<String> goFlags,
      Map<String, String> env) {
    return build(toolchain, srcDir, out, goFlags, env, false);
  }

  /**
   * Builds the Go module in {@code srcDir} (its committed go.mod and go.sum pin the library versions) into
   * {@code out} with {@code toolchain}, in module mode: the go command fetches what the module cache lacks from
   * the module proxy, and refuses a go.sum that does not match ({@code -mod=readonly}).
   */
  public static Path buildModule(GoToolchain toolchain, Path srcDir, Path out, List<String> goFlags,
      Map<String, String> env) {
    return build(toolchain, srcDir, out, goFlags, env, true);
  }

  private static Path build(GoToolchain toolchain, Path srcDir, Path out, List<String> goFlags,
      Map<String, String> env, boolean module) {
    requireNonNull(toolchain, "toolchain");
    requireNonNull(srcDir, "srcDir");
    requireNonNull(out, "out");
    requireNonNull(goFlags, "goFlags");
    requireNonNull(env, "env");
    Path absOut = out.toAbsolutePath();
    try {
      Files.createDirectories(absOut.getParent());
      String hash = hash(toolchain, srcDir, goFlags, env) + (module ? " module" : "");
      Path stamp = absOut.resolveSibling(absOut.getFileName() + ".sha256");
      if (Files.exists(absOut) && Files.exists(stamp) && Files.readString(stamp).equals(hash)) {
        return absOut;
      }
      List<String> cmd = new ArrayList<>(toolchain.command("build", "-o", absOut.toString()));
      cmd.addAll(goFlags);
      cmd.add(".");
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(srcDir.toFile()).redirectErrorStream(true);
      Map<String, String> e = pb.environment();
      e.put("GO111MODULE", module ? "on" : "off");
      e.put("GOFLAGS", module ? "-mod=readonly" : "");
      e.putIfAbsent("CGO_ENABLED", "0");
      e.putAll(toolchain.environment());
      e.putAll(env);
      Process p = pb.start();
      String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("go build " + srcDir + ": timed out");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            "go build (" + toolchain + ") " + srcDir + " " + goFlags + " " + env + " failed:\n" + log);
      }
      Files.writeString(stamp, hash);
      return absOut;
    } catch (IOException e) {
      throw new UncheckedIOException("go build " + srcDir, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("go build " + srcDir + ": interrupted", e);
    }
  }

  /** Runs a command (e.g. {@code go tool nm}) and returns its stdout+stderr; fails on non-zero exit. */
  public static String run(List<String> cmd) {
    return run(cmd, GoToolchain.installed().environment());
  }

  /** {@link #run(List)} with {@code env} added to GO111MODULE=off (e.g. a {@link GoToolchain#environment()}). */
  public static String run(List<String> cmd, Map<String, String> env) {
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("GO111MODULE", "off");
      pb.environment().putAll(env);
      Process p = pb.start();
      String outText = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IllegalStateException(cmd + " failed:\n" + outText);
      }
      return outText;
    } catch (IOException e) {
      throw new UncheckedIOException(String.join(" ", cmd), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(cmd + ": interrupted", e);
    }
  }

  private static String hash(GoToolchain toolchain, Path srcDir, List<String> flags, Map<String, String> env)
      throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(toolchain.toString().getBytes(StandardCharsets.UTF_8));
      md.update(toolchain.version().getBytes(StandardCharsets.UTF_8)); // memoized: one `go env` per toolchain
      md.update(String.join("\0", flags).getBytes(StandardCharsets.UTF_8));
      md.update(new TreeMap<>(env).toString().getBytes(StandardCharsets.UTF_8));
      try (Stream<Path> files = Files.walk(srcDir)) {
        for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
          md.update(srcDir.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
          md.update(Files.readAllBytes(f));
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Copies {@code from} to {@code to}, replacing it. */
  public static Path copy(Path from, Path to) {
    try {
      return Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("copy " + from, e);
    }
  }
}
