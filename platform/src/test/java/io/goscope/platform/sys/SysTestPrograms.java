package io.goscope.platform.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Builds the sys tests' BPF object and Go program into target/ and finds symbol file offsets. */
final class SysTestPrograms {
  private SysTestPrograms() {}

  static Path root() {
    String prop = System.getProperty("goscope.root");
    if (prop != null && Files.exists(Path.of(prop, "bpf-programs/build-bpf.sh"))) {
      return Path.of(prop);
    }
    for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.exists(p.resolve("bpf-programs/build-bpf.sh"))) {
        return p;
      }
    }
    throw new IllegalStateException("cannot find the repository root (bpf-programs/build-bpf.sh)");
  }

  static Path target() throws IOException {
    Path t = root().resolve("platform/target/sys-test");
    Files.createDirectories(t);
    return t;
  }

  /** Compiles platform/src/test/bpf/sys_test.bpf.c and returns the object's bytes. */
  static byte[] bpfObject() throws IOException, InterruptedException {
    return bpfObject("sys_test");
  }

  /** Compiles platform/src/test/bpf/{name}.bpf.c and returns the object's bytes. */
  static synchronized byte[] bpfObject(String name) throws IOException, InterruptedException {
    Path out = target().resolve(name + ".bpf.o");
    run(root(), Map.of(), "bash", root().resolve("bpf-programs/build-bpf.sh").toString(),
        root().resolve("platform/src/test/bpf/" + name + ".bpf.c").toString(), out.toString());
    return Files.readAllBytes(out);
  }

  /** Builds platform/src/test/go/sysprobe (GOPATH mode) and returns the binary. */
  static synchronized Path goProgram() throws IOException, InterruptedException {
    Path out = target().resolve("sysprobe");
    Path src = root().resolve("platform/src/test/go/sysprobe/main.go");
    if (Files.exists(out) && Files.getLastModifiedTime(out).compareTo(Files.getLastModifiedTime(src)) > 0) {
      return out;
    }
    run(root(), Map.of("GO111MODULE", "off", "GOCACHE", "/tmp/gocache-sys", "GOPATH", "/tmp/gopath-sys",
            "CGO_ENABLED", "0"),
        go("build", "-o", out.toString(), src.toString()));
    return out;
  }

  /** {@code go args...} of Debian's golang-go, by its full path (see GoToolchain.installed()). */
  static String[] go(String... args) {
    return io.goscope.testing.GoToolchain.installed().command(args).toArray(String[]::new);
  }

  static String run(Path dir, Map<String, String> env, String... command)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " timed out");
    }
    assertEquals(0, p.exitValue(), () -> String.join(" ", command) + " failed:\n" + output);
    return output;
  }

  /**
   * File offset of a function's entry: its address from {@code go tool nm}, mapped through the PT_LOAD segment
   * that contains it (offset = vaddr - p_vaddr + p_offset). A quick test-only lookup; the agent has its own ELF
   * reader.
   */
  static long fileOffset(Path binary, String symbol) throws IOException, InterruptedException {
    String nm = run(root(), Map.of("GOCACHE", "/tmp/gocache-sys"), go("tool", "nm", binary.toString()));
    long addr = -1;
    for (String line : nm.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 3 && f[f.length - 1].equals(symbol) && f[f.length - 2].equals("T")) {
        addr = Long.parseUnsignedLong(f[0], 16);
      }
    }
    if (addr < 0) {
      throw new IllegalStateException(symbol + " not in " + binary);
    }
    ByteBuffer elf = ByteBuffer.wrap(Files.readAllBytes(binary)).order(ByteOrder.LITTLE_ENDIAN);
    long phoff = elf.getLong(32);
    int phentsize = Short.toUnsignedInt(elf.getShort(54));
    int phnum = Short.toUnsignedInt(elf.getShort(56));
    for (int i = 0; i < phnum; i++) {
      int at = (int) (phoff + (long) i * phentsize);
      int type = elf.getInt(at);
      long offset = elf.getLong(at + 8);
      long vaddr = elf.getLong(at + 16);
      long filesz = elf.getLong(at + 32);
      if (type == 1 && addr >= vaddr && addr < vaddr + filesz) {
        return addr - vaddr + offset;
      }
    }
    throw new IllegalStateException(symbol + " at 0x" + Long.toHexString(addr) + " is in no PT_LOAD segment");
  }

  /** Open file descriptors of this process. */
  static int openFds() throws IOException {
    try (var s = Files.list(Path.of("/proc/self/fd"))) {
      return (int) s.count();
    }
  }

  static List<String> fdTargets() throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = Files.list(Path.of("/proc/self/fd"))) {
      s.forEach(p -> {
        try {
          out.add(p.getFileName() + " -> " + Files.readSymbolicLink(p));
        } catch (IOException e) {
          out.add(p.getFileName() + " -> ?");
        }
      });
    }
    return out;
  }
}
