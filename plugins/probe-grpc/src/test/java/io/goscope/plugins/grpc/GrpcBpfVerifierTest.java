package io.goscope.plugins.grpc;

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
 * every program. Offsets keep their defaults (the verifier sees them as constants), so the branches that need an
 * unresolved offset are pruned: that is also why the propagation programs load here although this host refuses
 * {@code bpf_probe_write_user} (their writes sit behind offsets that default to "unknown"). The programs with real
 * offsets are loaded by the agent in {@code GrpcE2ETest}. Skips with a reason without root, bpftool or a mounted
 * bpffs; fails instead under {@code CI=true}.
 */
class GrpcBpfVerifierTest {
  private static final Path BPFFS = Path.of("/sys/fs/bpf");

  @Test
  void objectPassesTheVerifier() throws Exception {
    requireEnvironment();
    Path work = Files.createDirectories(Path.of("target", "verifier-test")).toAbsolutePath();
    Path object = work.resolve("grpc.bpf.o");
    GrpcProbeSet set = new GrpcProbeSet();
    try (InputStream in = set.openResource(set.descriptor().bpfObjectResource())) {
      Files.write(object, in.readAllBytes());
    }
    Path pins = BPFFS.resolve("gs_grpc_verifier_" + ProcessHandle.current().pid());
    try {
      Process p =
          new ProcessBuilder("bpftool", "prog", "loadall", object.toString(), pins.toString())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "bpftool timed out");
      assertEquals(0, p.exitValue(), "bpftool prog loadall grpc.bpf.o:\n" + out);
      for (String program : set.descriptor().probes().stream()
          .flatMap(fp -> java.util.stream.Stream.of(fp.entryProgram(), fp.returnProgram()))
          .filter(java.util.Objects::nonNull).distinct().toList()) {
        assertTrue(Files.exists(pins.resolve(program)), "pinned program " + program);
      }
    } finally {
      deleteRecursively(pins);
    }
  }

  /**
   * The same programs with the offsets of two real layouts (grpc-go 1.33 and 1.85, {@code src/test/resources/verifier})
   * compiled in as their initial values ({@code GRPC_VERIFY_OFFSETS}), so that no branch is pruned for an unknown
   * offset: the verifier checks the whole of every program, the propagation programs' frame checks included. Their
   * {@code bpf_probe_write_user} calls are compiled as reads of the same bytes, which a locked-down kernel allows.
   */
  @Test
  void objectWithRealOffsetsPassesTheVerifier() throws Exception {
    requireEnvironment();
    Path root = goscopeRoot();
    Path work = Files.createDirectories(Path.of("target", "verifier-test")).toAbsolutePath();
    for (String layout : List.of("v1.33", "v1.85.0")) {
      Path offsets = root.resolve("plugins/probe-grpc/src/test/resources/verifier/offsets-" + layout + ".h");
      Path object = work.resolve("grpc-" + layout + ".bpf.o");
      run(List.of(root.resolve("bpf-programs/build-bpf.sh").toString(),
          root.resolve("plugins/probe-grpc/src/main/bpf/grpc.bpf.c").toString(), object.toString(),
          "-DGRPC_VERIFY_OFFSETS=\"" + offsets + "\""), "compile " + layout);
      Path pins = BPFFS.resolve("gs_grpc_verifier_" + layout.replace('.', '_') + "_" + ProcessHandle.current().pid());
      try {
        run(List.of("bpftool", "prog", "loadall", object.toString(), pins.toString()), "bpftool loadall " + layout);
        assertTrue(Files.exists(pins.resolve("grpc_inject_frame_return")), layout);
        assertTrue(Files.exists(pins.resolve("grpc_server_entry")), layout);
      } finally {
        deleteRecursively(pins);
      }
    }
  }

  private static void run(List<String> command, String what) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), what + " timed out");
    assertEquals(0, p.exitValue(), what + ":\n" + out);
  }

  private static Path goscopeRoot() {
    String prop = System.getProperty("goscope.root");
    Path start = prop != null ? Path.of(prop) : Path.of("").toAbsolutePath();
    for (Path p = start.toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("bpf-programs/include"))) {
        return p;
      }
    }
    throw new IllegalStateException("cannot find the goscope root (bpf-programs/include) above " + start);
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
