package io.goscope.api.testing;

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

/**
 * Compiles a C program that includes a plugin's event header with the host C compiler and prints offsetof/sizeof of
 * the given fields and the values of the given constants, for the layout tests. Run from the plugin module's
 * directory: the header is looked up in {@code src/main/bpf}, the kit headers in the Goscope root's
 * {@code bpf-programs/include}.
 */
public final class CHeaderLayout {
  private CHeaderLayout() {}

  /**
   * @param header the header's file name under {@code src/main/bpf}
   * @param fields {@code struct.field} (or {@code struct.sizeof}) names
   * @param constants macro names
   * @return name → {offset or value, size}
   */
  public static Map<String, long[]> measure(String header, List<String> fields, List<String> constants)
      throws Exception {
    Path root = GoscopeRoot.find();
    Path work = Files.createDirectories(Path.of("target", "layout-test")).toAbsolutePath();
    StringBuilder c = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include \"" + header + "\"\n");
    c.append("int main(void) {\n");
    for (String f : fields) {
      String[] p = f.split("\\.", 2);
      if (p[1].equals("sizeof")) {
        c.append("  printf(\"%s %zu 0\\n\", \"").append(f).append("\", sizeof(struct ").append(p[0]).append("));\n");
      } else {
        c.append("  printf(\"%s %zu %zu\\n\", \"").append(f).append("\", offsetof(struct ").append(p[0])
            .append(", ").append(p[1]).append("), sizeof(((struct ").append(p[0]).append(" *)0)->").append(p[1])
            .append("));\n");
      }
    }
    for (String k : constants) {
      c.append("  printf(\"%s %lld 0\\n\", \"").append(k).append("\", (long long)(").append(k).append("));\n");
    }
    c.append("  return 0;\n}\n");
    Path src = work.resolve(header + ".c");
    Path exe = work.resolve(header + ".exe");
    Files.writeString(src, c.toString());
    run(List.of(compiler(), "-Wall", "-Werror", "-I" + root.resolve("bpf-programs/include"),
        "-I" + Path.of("src/main/bpf").toAbsolutePath(), src.toString(), "-o", exe.toString()));
    Map<String, long[]> out = new LinkedHashMap<>();
    for (String line : run(List.of(exe.toString())).strip().split("\n")) {
      String[] p = line.trim().split(" ");
      out.put(p[0], new long[] {Long.parseLong(p[1]), Long.parseLong(p[2])});
    }
    return out;
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

  private static String run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
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
