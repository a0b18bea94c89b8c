package io.goscope.api.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.goscope.api.ProbeSet;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Privileged test support for probe-set plugins: loads a compiled BPF object into this kernel with
 * {@code bpftool prog loadall}, so that the verifier checks every program, and pins them under a temporary bpffs
 * directory that is removed afterwards. Without root, kernel BTF, bpftool or a mounted bpffs the test is skipped
 * with the reason, and fails instead under {@code CI=true}.
 */
public final class BpfVerifier {
  private static final Path BPFFS = Path.of("/sys/fs/bpf");

  /** Checks the pinned programs of one {@link #loadAll} call. */
  @FunctionalInterface
  public interface PinnedCheck {
    void check(Path pins) throws Exception;
  }

  private BpfVerifier() {}

  /**
   * Loads {@code set}'s bundled object (its offsets left at their defaults, which the verifier sees as constants) and
   * asserts that every program its descriptor names, entry and return, passed the verifier.
   */
  public static void assertDescriptorProgramsLoad(ProbeSet set) throws Exception {
    requireEnvironment();
    String resource = set.descriptor().bpfObjectResource();
    Path object = workDir().resolve(Path.of(resource).getFileName());
    try (InputStream in = set.openResource(resource)) {
      Files.write(object, in.readAllBytes());
    }
    List<String> programs = set.descriptor().probes().stream()
        .flatMap(probe -> Stream.of(probe.entryProgram(), probe.returnProgram()))
        .filter(Objects::nonNull).distinct().toList();
    loadAll(object, set.descriptor().id(), pins -> {
      for (String program : programs) {
        assertTrue(Files.exists(pins.resolve(program)), "pinned program " + program);
      }
    });
  }

  /**
   * Loads every program of {@code object} and pins them in a fresh directory named after {@code tag} and this
   * process, hands it to {@code check}, then removes it.
   */
  public static void loadAll(Path object, String tag, PinnedCheck check) throws Exception {
    requireEnvironment();
    Path pins = BPFFS.resolve("gs_" + tag.replaceAll("[^A-Za-z0-9_]", "_") + "_verifier_"
        + ProcessHandle.current().pid());
    try {
      run(List.of("bpftool", "prog", "loadall", object.toString(), pins.toString()),
          "bpftool prog loadall " + object.getFileName());
      check.check(pins);
    } finally {
      deleteRecursively(pins);
    }
  }

  /** {@code target/verifier-test} of the module under test, created. */
  public static Path workDir() throws IOException {
    return Files.createDirectories(Path.of("target", "verifier-test")).toAbsolutePath();
  }

  /** Runs {@code command}; asserts it ends within 120 s with status 0, its output in the message. */
  public static void run(List<String> command, String what) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), what + " timed out");
    assertEquals(0, p.exitValue(), what + ":\n" + out);
  }

  /** Skips (or, under {@code CI=true}, fails) the test, naming what is missing to load BPF programs here. */
  public static void requireEnvironment() throws IOException, InterruptedException {
    String reason = null;
    Process id = new ProcessBuilder("id", "-u").start();
    String uid = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    id.waitFor();
    if (!"0".equals(uid)) {
      reason = "needs root to load BPF programs; uid=" + uid;
    } else if (!Files.exists(Path.of("/sys/kernel/btf/vmlinux"))) {
      reason = "needs kernel BTF (/sys/kernel/btf/vmlinux)";
    } else if (!onPath("bpftool")) {
      reason = "needs bpftool on PATH";
    } else if (!isBpffs()) {
      reason = "needs bpffs mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)";
    }
    if (reason == null) {
      return;
    }
    if ("true".equals(System.getenv("CI"))) {
      fail(reason + " (required under CI=true)");
    }
    Assumptions.abort(reason);
  }

  private static boolean isBpffs() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
      String[] f = line.split(" ");
      if (f.length > 2 && f[1].equals(BPFFS.toString()) && f[2].equals("bpf")) {
        return true;
      }
    }
    return false;
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return Stream.of("/usr/sbin", "/sbin").anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
