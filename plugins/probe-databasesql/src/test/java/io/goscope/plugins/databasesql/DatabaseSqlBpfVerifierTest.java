package io.goscope.plugins.databasesql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Privileged: loads the compiled object into this kernel with {@code bpftool prog loadall} so the verifier checks
 * every program its descriptor names. Offsets keep their defaults (the verifier sees them as constants); the full path with real offsets
 * is covered by the platform's attach tests. Skips with a reason without root, bpftool or a mounted bpffs; fails
 * instead under {@code CI=true}.
 */
class DatabaseSqlBpfVerifierTest {
  private static final Path BPFFS = Path.of("/sys/fs/bpf");

  @Test
  void objectPassesTheVerifier() throws Exception {
    requireEnvironment();
    Path work = Files.createDirectories(Path.of("target", "verifier-test")).toAbsolutePath();
    Path object = work.resolve("databasesql.bpf.o");
    DatabaseSqlProbeSet set = new DatabaseSqlProbeSet();
    try (InputStream in = set.openResource(set.descriptor().bpfObjectResource())) {
      Files.write(object, in.readAllBytes());
    }
    Path pins = BPFFS.resolve("gs_databasesql_verifier_" + ProcessHandle.current().pid());
    try {
      Process p =
          new ProcessBuilder("bpftool", "prog", "loadall", object.toString(), pins.toString())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "bpftool timed out");
      assertEquals(0, p.exitValue(), "bpftool prog loadall databasesql.bpf.o:\n" + out);
      for (String program :
          set.descriptor().probes().stream()
          .flatMap(probe -> Stream.of(probe.entryProgram(), probe.returnProgram())).filter(java.util.Objects::nonNull)
          .distinct().toList()) {
        assertTrue(Files.exists(pins.resolve(program)), "pinned program " + program);
      }
    } finally {
      deleteRecursively(pins);
    }
  }

  private static void requireEnvironment() throws IOException, InterruptedException {
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
    return List.of("/usr/sbin", "/sbin").stream().anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
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
