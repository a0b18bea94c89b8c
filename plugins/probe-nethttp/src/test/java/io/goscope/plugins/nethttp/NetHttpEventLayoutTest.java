package io.goscope.plugins.nethttp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@link NetHttpEventLayout} in sync with {@code struct nethttp_event}: compiles a tiny C program that
 * includes {@code nethttp_event.h} with the host C compiler and compares {@code offsetof}/{@code sizeof} of every
 * field with the Java constants.
 */
class NetHttpEventLayoutTest {

  /** C field name -> {offset, size} as the Java side believes. */
  private static Map<String, int[]> javaLayout() {
    Map<String, int[]> m = new LinkedHashMap<>();
    m.put("hdr", new int[] {NetHttpEventLayout.HEADER, NetHttpEventLayout.HEADER_SIZE});
    m.put("start_ns", new int[] {NetHttpEventLayout.START_NS, 8});
    m.put("end_ns", new int[] {NetHttpEventLayout.END_NS, 8});
    m.put("trace_id", new int[] {NetHttpEventLayout.TRACE_ID, NetHttpEventLayout.TRACE_ID_SIZE});
    m.put("span_id", new int[] {NetHttpEventLayout.SPAN_ID, NetHttpEventLayout.SPAN_ID_SIZE});
    m.put(
        "parent_span_id",
        new int[] {NetHttpEventLayout.PARENT_SPAN_ID, NetHttpEventLayout.PARENT_SPAN_ID_SIZE});
    m.put("status", new int[] {NetHttpEventLayout.STATUS, 8});
    m.put("method_len", new int[] {NetHttpEventLayout.METHOD_LEN, 8});
    m.put("path_len", new int[] {NetHttpEventLayout.PATH_LEN, 8});
    m.put("proto_len", new int[] {NetHttpEventLayout.PROTO_LEN, 8});
    m.put("host_len", new int[] {NetHttpEventLayout.HOST_LEN, 8});
    m.put("remote_addr_len", new int[] {NetHttpEventLayout.REMOTE_ADDR_LEN, 8});
    m.put("tls", new int[] {NetHttpEventLayout.TLS, 1});
    m.put("method", new int[] {NetHttpEventLayout.METHOD, NetHttpEventLayout.METHOD_CAP});
    m.put("path", new int[] {NetHttpEventLayout.PATH, NetHttpEventLayout.PATH_CAP});
    m.put("proto", new int[] {NetHttpEventLayout.PROTO, NetHttpEventLayout.PROTO_CAP});
    m.put("host", new int[] {NetHttpEventLayout.HOST, NetHttpEventLayout.HOST_CAP});
    m.put("remote_addr", new int[] {NetHttpEventLayout.REMOTE_ADDR, NetHttpEventLayout.REMOTE_ADDR_CAP});
    return m;
  }

  @Test
  void cStructMatchesJavaLayout() throws Exception {
    Path root = goscopeRoot();
    Path work = Files.createDirectories(Path.of("target", "layout-test")).toAbsolutePath();
    StringBuilder c = new StringBuilder();
    c.append("#include <stdio.h>\n#include <stddef.h>\n#include \"nethttp_event.h\"\n");
    c.append("#define F(f) printf(\"%s %zu %zu\\n\", #f, offsetof(struct nethttp_event, f),")
        .append(" sizeof(((struct nethttp_event *)0)->f));\n");
    c.append("int main(void) {\n");
    for (String field : javaLayout().keySet()) {
      c.append("  F(").append(field).append(")\n");
    }
    c.append("  printf(\"sizeof %zu 0\\n\", sizeof(struct nethttp_event));\n");
    c.append("  printf(\"NETHTTP_RECORD_SERVER %d 0\\n\", NETHTTP_RECORD_SERVER);\n");
    c.append("  return 0;\n}\n");
    Path src = work.resolve("layout.c");
    Path exe = work.resolve("layout");
    Files.writeString(src, c.toString());

    run(
        List.of(
            compiler(),
            "-Wall",
            "-Werror",
            "-I" + root.resolve("bpf-programs/include"),
            "-I" + root.resolve("plugins/probe-nethttp/src/main/bpf"),
            src.toString(),
            "-o",
            exe.toString()),
        work);
    String out = run(List.of(exe.toString()), work);

    Map<String, int[]> fromC = new LinkedHashMap<>();
    for (String line : out.strip().split("\n")) {
      String[] parts = line.trim().split(" ");
      fromC.put(parts[0], new int[] {Integer.parseInt(parts[1]), Integer.parseInt(parts[2])});
    }
    for (Map.Entry<String, int[]> e : javaLayout().entrySet()) {
      int[] actual = fromC.get(e.getKey());
      assertEquals(e.getValue()[0], actual[0], "offsetof(struct nethttp_event, " + e.getKey() + ")");
      assertEquals(e.getValue()[1], actual[1], "sizeof(nethttp_event." + e.getKey() + ")");
    }
    assertEquals(NetHttpEventLayout.SIZE, fromC.get("sizeof")[0], "sizeof(struct nethttp_event)");
    assertEquals(
        NetHttpEventLayout.RECORD_TYPE_SERVER, fromC.get("NETHTTP_RECORD_SERVER")[0], "record type");
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

  private static String compiler() {
    for (String cc : List.of("cc", "gcc", "clang")) {
      for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
        if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, cc))) {
          return cc;
        }
      }
    }
    if ("true".equals(System.getenv("CI"))) {
      fail("no C compiler (cc, gcc, clang) on PATH; required under CI=true");
    }
    Assumptions.abort("no C compiler (cc, gcc, clang) on PATH to check the C struct layout");
    throw new AssertionError("unreachable");
  }

  private static String run(List<String> command, Path dir) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("timed out: " + command);
    }
    if (p.exitValue() != 0) {
      fail("command failed (exit " + p.exitValue() + "): " + command + "\n" + out);
    }
    return out;
  }
}
