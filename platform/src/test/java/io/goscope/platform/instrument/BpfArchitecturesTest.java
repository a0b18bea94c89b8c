package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.plugins.nethttp.NetHttpProbeSet;
import io.goscope.testing.BpfAssumptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every BPF object exists for amd64 and arm64 ({@code bpf-programs/build-bpf.sh} writes {@code bpf/x86_64/} and
 * {@code bpf/aarch64/} next to the host's object) and the host loads the one for its architecture. Running arm64 BPF
 * is not possible on this amd64 machine, so the arm64 side is proven at compile level: {@code go_abi.h}'s register
 * macros read the right {@code struct user_pt_regs} slots (checked instruction by instruction with
 * {@code llvm-objdump}), and both objects carry the same relocations, sections and programs.
 */
class BpfArchitecturesTest {
  private static final Path ROOT = Path.of(System.getProperty("goscope.root", "..")).toAbsolutePath().normalize();
  private static final List<String> ARCHES = List.of("x86_64", "aarch64");
  private static final List<String> MACROS = List.of("GO_ARG1", "GO_ARG2", "GO_ARG3", "GO_ARG4", "GO_ARG5",
      "GO_ARG6", "GO_ARG7", "GO_ARG8", "GO_ARG9", "GO_G");

  /**
   * Byte offsets in the uprobe context of each macro: x86-64 struct pt_regs (rax, rbx, rcx, rdi, rsi, r8, r9, r10,
   * r11, r14) and arm64 struct user_pt_regs (x0..x8, x28): Go's register ABI on each architecture.
   */
  private static final Map<String, List<Integer>> EXPECTED = Map.of(
      "x86_64", List.of(80, 40, 88, 112, 104, 72, 64, 56, 48, 8),
      "aarch64", List.of(0, 8, 16, 24, 32, 40, 48, 56, 64, 224));

  private static final Pattern FUNCTION = Pattern.compile("^[0-9a-f]+ <([A-Za-z0-9_]+)>:$", Pattern.MULTILINE);
  private static final Pattern CTX_LOAD = Pattern.compile("= \\*\\(u64 \\*\\)\\(r1 \\+ (\\d+)\\)");

  @Test
  void goAbiMacrosReadEachArchitecturesRegisters() throws Exception {
    requireTools();
    Path work = Files.createDirectories(Path.of("target", "bpf-arch-test")).toAbsolutePath();
    StringBuilder c = new StringBuilder("#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include \"go_abi.h\"\n")
        .append("char LICENSE[] SEC(\"license\") = \"Dual BSD/GPL\";\n");
    for (String m : MACROS) {
      c.append("SEC(\"uprobe\") int read_").append(m.toLowerCase()).append("(struct pt_regs *ctx) { return ")
          .append(m).append("(ctx) == 42; }\n");
    }
    Path src = work.resolve("regs.bpf.c");
    Files.writeString(src, c);
    Path out = work.resolve("regs.bpf.o");
    run(List.of(ROOT.resolve("bpf-programs/build-bpf.sh").toString(), src.toString(), out.toString()));
    for (String arch : ARCHES) {
      Map<String, Integer> loads = firstContextLoads(out.resolveSibling(arch).resolve("regs.bpf.o"));
      for (int i = 0; i < MACROS.size(); i++) {
        String fn = "read_" + MACROS.get(i).toLowerCase();
        assertEquals(EXPECTED.get(arch).get(i), loads.get(fn), arch + " " + MACROS.get(i) + " in " + loads);
      }
    }
    String host = BpfObjectResources.hostArch();
    assertArrayEquals(Files.readAllBytes(out.resolveSibling(host).resolve("regs.bpf.o")), Files.readAllBytes(out),
        "the plain object is the build host's (" + host + ")");
  }

  /** The platform's own objects (bpf-programs/src), as Maven built them into target/classes. */
  @Test
  void platformObjectsExistForBothArchitectures() throws Exception {
    requireTools();
    Path classes = Path.of("target/classes/bpf");
    Path plain = classes.resolve("process_events.bpf.o");
    assertTrue(Files.isRegularFile(plain), plain.toString());
    Map<String, Path> perArch = new LinkedHashMap<>();
    for (String arch : ARCHES) {
      perArch.put(arch, classes.resolve(arch).resolve("process_events.bpf.o"));
    }
    assertSameShape(perArch);
  }

  /**
   * The net/http plugin's object, read through the plugin's own resources: both architectures, the same relocations
   * (maps, read-only offsets) and programs, and the entry program reading the goroutine from R14 / X28.
   */
  @Test
  void nethttpObjectsExistForBothArchitectures() throws Exception {
    requireTools();
    Path work = Files.createDirectories(Path.of("target", "bpf-arch-test")).toAbsolutePath();
    NetHttpProbeSet set = new NetHttpProbeSet();
    Map<String, Path> perArch = new LinkedHashMap<>();
    for (String arch : ARCHES) {
      Path p = work.resolve("nethttp-" + arch + ".bpf.o");
      try (InputStream in = set.openResource(BpfObjectResources.forArch(set.descriptor().bpfObjectResource(), arch))) {
        Files.write(p, in.readAllBytes());
      }
      perArch.put(arch, p);
    }
    assertSameShape(perArch);
    for (String arch : ARCHES) {
      String entry = function(objdump("-d", "--no-show-raw-insn", perArch.get(arch).toString()),
          "nethttp_server_entry");
      int g = EXPECTED.get(arch).get(MACROS.indexOf("GO_G"));
      int req = EXPECTED.get(arch).get(MACROS.indexOf("GO_ARG4"));
      assertTrue(entry.matches("(?s).*\\*\\(u64 \\*\\)\\(r\\d \\+ " + g + "\\).*")
              && entry.matches("(?s).*\\*\\(u64 \\*\\)\\(r\\d \\+ " + req + "\\).*"),
          arch + " entry program reads g at ctx+" + g + " and req at ctx+" + req + ":\n" + entry);
    }
  }

  /** The host picks bpf/<arch>/x.o when the plugin has it, else bpf/x.o. */
  @Test
  void runtimeLoadsTheHostArchitecturesObject() throws Exception {
    String arch = BpfObjectResources.hostArch();
    assertTrue(arch != null, "this JVM's os.arch " + System.getProperty("os.arch") + " maps to x86_64 or aarch64");
    Map<String, byte[]> both = Map.of("bpf/x.bpf.o", new byte[] {1}, "bpf/" + arch + "/x.bpf.o", new byte[] {2});
    assertArrayEquals(new byte[] {2}, ProbeSetRuntime.objectBytes(fake(both)));
    Map<String, byte[]> plainOnly = Map.of("bpf/x.bpf.o", new byte[] {1});
    assertArrayEquals(new byte[] {1}, ProbeSetRuntime.objectBytes(fake(plainOnly)));
    assertEquals("bpf/aarch64/nethttp.bpf.o", BpfObjectResources.forArch("bpf/nethttp.bpf.o", "aarch64"));
    assertEquals("aarch64/x.o", BpfObjectResources.forArch("x.o", "aarch64"));
    assertEquals("x86_64", BpfObjectResources.unameArch("amd64"));
    assertEquals("aarch64", BpfObjectResources.unameArch("aarch64"));
    assertNull(BpfObjectResources.unameArch("s390x"));
  }

  private static ProbeSet fake(Map<String, byte[]> resources) {
    ProbeSetDescriptor d = ProbeSetDescriptor.builder("fake").bpfObject("bpf/x.bpf.o")
        .probe(new FunctionProbe("main.f", "f_entry", null, List.of(), FailureMode.WARN)).build();
    return new ProbeSet() {
      @Override
      public ProbeSetDescriptor descriptor() {
        return d;
      }

      @Override
      public RecordDecoder decoder() {
        return (record, header, sink) -> { };
      }

      @Override
      public InputStream openResource(String name) throws IOException {
        byte[] b = resources.get(name);
        if (b == null) {
          throw new IOException("resource not found: " + name);
        }
        return new ByteArrayInputStream(b);
      }
    };
  }

  /** Both objects: BPF ELF, the same program sections, the same relocation targets, and BTF bpftool can read. */
  private static void assertSameShape(Map<String, Path> perArch) throws Exception {
    Map<String, TreeSet<String>> relocs = new LinkedHashMap<>();
    Map<String, TreeSet<String>> functions = new LinkedHashMap<>();
    for (Map.Entry<String, Path> e : perArch.entrySet()) {
      Path obj = e.getValue();
      assertTrue(Files.isRegularFile(obj), obj + " missing: build-bpf.sh builds every architecture");
      assertTrue(objdump("-f", obj.toString()).contains("file format elf64-bpf"), obj.toString());
      TreeSet<String> r = new TreeSet<>();
      for (String line : objdump("-r", obj.toString()).split("\n")) {
        String[] f = line.trim().split("\\s+");
        if (f.length == 3 && f[1].startsWith("R_BPF_")) {
          r.add(f[1] + " " + f[2]);
        }
      }
      assertFalse(r.isEmpty(), "relocations of " + obj);
      relocs.put(e.getKey(), r);
      TreeSet<String> fns = new TreeSet<>();
      Matcher m = FUNCTION.matcher(objdump("-d", obj.toString()));
      while (m.find()) {
        if (!m.group(1).startsWith("LBB")) {
          fns.add(m.group(1));
        }
      }
      functions.put(e.getKey(), fns);
      run(List.of("bpftool", "btf", "dump", "file", obj.toString()));
    }
    assertEquals(relocs.get("x86_64"), relocs.get("aarch64"), "relocations per architecture");
    assertEquals(functions.get("x86_64"), functions.get("aarch64"), "programs per architecture");
  }

  /** Per function: the offset of its first 64-bit load from the context register r1. */
  private static Map<String, Integer> firstContextLoads(Path obj) throws Exception {
    String dis = objdump("-d", "--no-show-raw-insn", obj.toString());
    Map<String, Integer> out = new LinkedHashMap<>();
    Matcher fn = FUNCTION.matcher(dis);
    while (fn.find()) {
      Matcher load = CTX_LOAD.matcher(function(dis, fn.group(1)));
      if (load.find()) {
        out.put(fn.group(1), Integer.parseInt(load.group(1)));
      }
    }
    return out;
  }

  /** The disassembly of one function, up to the next function. */
  private static String function(String dis, String name) {
    int start = dis.indexOf("<" + name + ">:");
    assertTrue(start >= 0, name + " in the disassembly");
    Matcher next = FUNCTION.matcher(dis);
    int end = dis.length();
    if (next.find(start + name.length() + 3)) {
      do {
        if (!next.group(1).startsWith("LBB")) {
          end = next.start();
          break;
        }
      } while (next.find());
    }
    return dis.substring(start, end);
  }

  private static String objdump(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("llvm-objdump"));
    cmd.addAll(List.of(args));
    return run(cmd);
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), cmd + " timed out");
    assertEquals(0, p.exitValue(), cmd + ":\n" + out);
    return out;
  }

  private static void requireTools() {
    for (String tool : List.of("clang", "llvm-objdump", "bpftool")) {
      boolean found = false;
      for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
        found |= Files.isExecutable(Path.of(dir, tool));
      }
      found |= Files.isExecutable(Path.of("/usr/sbin", tool));
      if (!found) {
        BpfAssumptions.skipOrFail(tool + " not installed (make deps installs clang, llvm and bpftool)");
      }
    }
  }
}
