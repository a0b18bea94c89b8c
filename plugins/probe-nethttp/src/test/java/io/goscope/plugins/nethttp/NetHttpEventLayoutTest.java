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

  /** struct → C field name → {offset, size} as the Java side believes. */
  private static Map<String, Map<String, int[]>> javaLayouts() {
    Map<String, Map<String, int[]>> all = new LinkedHashMap<>();
    Map<String, int[]> s = new LinkedHashMap<>();
    s.put("hdr", new int[] {NetHttpEventLayout.HEADER, NetHttpEventLayout.HEADER_SIZE});
    s.put("start_ns", new int[] {NetHttpEventLayout.Server.START_NS, 8});
    s.put("end_ns", new int[] {NetHttpEventLayout.Server.END_NS, 8});
    s.put("trace", new int[] {NetHttpEventLayout.Server.TRACE, io.goscope.api.TraceRecord.SIZE});
    s.put("status", new int[] {NetHttpEventLayout.Server.STATUS, 8});
    s.put("method_len", new int[] {NetHttpEventLayout.Server.METHOD_LEN, 8});
    s.put("path_len", new int[] {NetHttpEventLayout.Server.PATH_LEN, 8});
    s.put("proto_len", new int[] {NetHttpEventLayout.Server.PROTO_LEN, 8});
    s.put("host_len", new int[] {NetHttpEventLayout.Server.HOST_LEN, 8});
    s.put("remote_addr_len", new int[] {NetHttpEventLayout.Server.REMOTE_ADDR_LEN, 8});
    s.put("route_len", new int[] {NetHttpEventLayout.Server.ROUTE_LEN, 8});
    s.put("tls", new int[] {NetHttpEventLayout.Server.TLS, 1});
    s.put("method", new int[] {NetHttpEventLayout.Server.METHOD, NetHttpEventLayout.Server.METHOD_CAP});
    s.put("path", new int[] {NetHttpEventLayout.Server.PATH, NetHttpEventLayout.Server.PATH_CAP});
    s.put("proto", new int[] {NetHttpEventLayout.Server.PROTO, NetHttpEventLayout.Server.PROTO_CAP});
    s.put("host", new int[] {NetHttpEventLayout.Server.HOST, NetHttpEventLayout.Server.HOST_CAP});
    s.put("remote_addr", new int[] {NetHttpEventLayout.Server.REMOTE_ADDR,
        NetHttpEventLayout.Server.REMOTE_ADDR_CAP});
    s.put("route", new int[] {NetHttpEventLayout.Server.ROUTE, NetHttpEventLayout.Server.ROUTE_CAP});
    s.put("sizeof", new int[] {NetHttpEventLayout.Server.SIZE, 0});
    all.put("nethttp_server_event", s);

    Map<String, int[]> c = new LinkedHashMap<>();
    c.put("start_ns", new int[] {NetHttpEventLayout.Client.START_NS, 8});
    c.put("end_ns", new int[] {NetHttpEventLayout.Client.END_NS, 8});
    c.put("trace", new int[] {NetHttpEventLayout.Client.TRACE, io.goscope.api.TraceRecord.SIZE});
    c.put("status", new int[] {NetHttpEventLayout.Client.STATUS, 8});
    c.put("error_type", new int[] {NetHttpEventLayout.Client.ERROR_TYPE, 8});
    c.put("method_len", new int[] {NetHttpEventLayout.Client.METHOD_LEN, 8});
    c.put("scheme_len", new int[] {NetHttpEventLayout.Client.SCHEME_LEN, 8});
    c.put("host_len", new int[] {NetHttpEventLayout.Client.HOST_LEN, 8});
    c.put("path_len", new int[] {NetHttpEventLayout.Client.PATH_LEN, 8});
    c.put("query_len", new int[] {NetHttpEventLayout.Client.QUERY_LEN, 8});
    c.put("proto_len", new int[] {NetHttpEventLayout.Client.PROTO_LEN, 8});
    c.put("userinfo", new int[] {NetHttpEventLayout.Client.USERINFO, 1});
    c.put("propagation", new int[] {NetHttpEventLayout.Client.PROPAGATION, 1});
    c.put("method", new int[] {NetHttpEventLayout.Client.METHOD, NetHttpEventLayout.Client.METHOD_CAP});
    c.put("scheme", new int[] {NetHttpEventLayout.Client.SCHEME, NetHttpEventLayout.Client.SCHEME_CAP});
    c.put("host", new int[] {NetHttpEventLayout.Client.HOST, NetHttpEventLayout.Client.HOST_CAP});
    c.put("path", new int[] {NetHttpEventLayout.Client.PATH, NetHttpEventLayout.Client.PATH_CAP});
    c.put("query", new int[] {NetHttpEventLayout.Client.QUERY, NetHttpEventLayout.Client.QUERY_CAP});
    c.put("proto", new int[] {NetHttpEventLayout.Client.PROTO, NetHttpEventLayout.Client.PROTO_CAP});
    c.put("sizeof", new int[] {NetHttpEventLayout.Client.SIZE, 0});
    all.put("nethttp_client_event", c);

    Map<String, int[]> t = new LinkedHashMap<>();
    t.put("parent_span_id", new int[] {NetHttpEventLayout.TraceState.PARENT_SPAN_ID, 8});
    t.put("len", new int[] {NetHttpEventLayout.TraceState.LEN, 8});
    t.put("value", new int[] {NetHttpEventLayout.TraceState.VALUE, NetHttpEventLayout.TraceState.VALUE_CAP});
    t.put("sizeof", new int[] {NetHttpEventLayout.TraceState.SIZE, 0});
    all.put("nethttp_tracestate_event", t);

    Map<String, int[]> g = new LinkedHashMap<>();
    g.put("trace_id", new int[] {io.goscope.api.TraceRecord.TRACE_ID, 16});
    g.put("span_id", new int[] {io.goscope.api.TraceRecord.SPAN_ID, 8});
    g.put("parent_span_id", new int[] {io.goscope.api.TraceRecord.PARENT_SPAN_ID, 8});
    g.put("trace_flags", new int[] {io.goscope.api.TraceRecord.TRACE_FLAGS, 1});
    g.put("parent_remote", new int[] {io.goscope.api.TraceRecord.PARENT_REMOTE, 1});
    g.put("sizeof", new int[] {io.goscope.api.TraceRecord.SIZE, 0});
    all.put("gs_trace", g);
    return all;
  }

  /** The record types the header defines. */
  private static Map<String, Integer> javaConstants() {
    return Map.of(
        "NETHTTP_RECORD_SERVER", NetHttpEventLayout.Server.TYPE,
        "NETHTTP_RECORD_CLIENT", NetHttpEventLayout.Client.TYPE,
        "NETHTTP_RECORD_TRACESTATE", NetHttpEventLayout.TraceState.TYPE,
        "NETHTTP_PROPAGATION_INJECTED", NetHttpEventLayout.Client.PROPAGATION_INJECTED,
        "NETHTTP_PROPAGATION_OWN", NetHttpEventLayout.Client.PROPAGATION_OWN,
        "NETHTTP_PROPAGATION_UNSURE", NetHttpEventLayout.Client.PROPAGATION_UNSURE);
  }

  @Test
  void cStructsMatchJavaLayouts() throws Exception {
    Path root = goscopeRoot();
    Path work = Files.createDirectories(Path.of("target", "layout-test")).toAbsolutePath();
    StringBuilder c = new StringBuilder();
    c.append("#include <stdio.h>\n#include <stddef.h>\n#include \"nethttp_event.h\"\n");
    c.append("#define F(s, f) printf(\"%s.%s %zu %zu\\n\", #s, #f, offsetof(struct s, f),")
        .append(" sizeof(((struct s *)0)->f));\n");
    c.append("int main(void) {\n");
    javaLayouts().forEach((struct, fields) -> {
      for (String field : fields.keySet()) {
        if (field.equals("sizeof")) {
          c.append("  printf(\"").append(struct).append(".sizeof %zu 0\\n\", sizeof(struct ").append(struct)
              .append("));\n");
        } else {
          c.append("  F(").append(struct).append(", ").append(field).append(")\n");
        }
      }
    });
    javaConstants().keySet().forEach(k ->
        c.append("  printf(\"").append(k).append(" %d 0\\n\", ").append(k).append(");\n"));
    c.append("  return 0;\n}\n");
    Path src = work.resolve("layout.c");
    Path exe = work.resolve("layout");
    Files.writeString(src, c.toString());
    run(List.of(compiler(), "-Wall", "-Werror", "-I" + root.resolve("bpf-programs/include"),
        "-I" + root.resolve("plugins/probe-nethttp/src/main/bpf"), src.toString(), "-o", exe.toString()), work);
    String out = run(List.of(exe.toString()), work);
    Map<String, int[]> fromC = new LinkedHashMap<>();
    for (String line : out.strip().split("\n")) {
      String[] parts = line.trim().split(" ");
      fromC.put(parts[0], new int[] {Integer.parseInt(parts[1]), Integer.parseInt(parts[2])});
    }
    javaLayouts().forEach((struct, fields) -> fields.forEach((field, expected) -> {
      int[] actual = fromC.get(struct + "." + field);
      assertEquals(expected[0], actual[0], "offsetof/sizeof " + struct + "." + field);
      assertEquals(expected[1], actual[1], "sizeof(" + struct + "." + field + ")");
    }));
    javaConstants().forEach((k, v) -> assertEquals(v, fromC.get(k)[0], k));
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
