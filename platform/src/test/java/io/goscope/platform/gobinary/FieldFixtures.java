package io.goscope.platform.gobinary;

import io.goscope.testing.GoBuilder;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Go programs built once per test JVM for the field-offset tests: the test app in several link modes, and a
 * debug/dwarf dumper that gives ground-truth offsets written in Go.
 */
final class FieldFixtures {
  static final List<String> STRUCTS = List.of("net/http.Request", "net/url.URL", "net/http.response");
  static final List<String> FIELDS = List.of(
      "net/http.Request.Method", "net/http.Request.URL", "net/http.Request.Proto", "net/http.Request.Host",
      "net/http.Request.RemoteAddr", "net/http.Request.RequestURI", "net/http.Request.TLS", "net/http.Request.ctx",
      "net/http.Request.Header", "net/url.URL.Path", "net/url.URL.Scheme", "net/url.URL.RawQuery",
      "net/http.response.status", "net/http.response.req", "net/http.response.conn");

  static final Path DIR = Path.of("target", "gobinary-fields").toAbsolutePath();
  private static final Path SRC = Path.of("src", "test", "resources", "gobinary-fields").toAbsolutePath();

  private static final Map<String, Path> BUILT = new LinkedHashMap<>();

  private FieldFixtures() {}

  /** The app linked with default flags (DWARF compressed on Linux). */
  static Path plain() {
    return build("app-plain", "app");
  }

  static Path uncompressed() {
    return build("app-uncompressed", "app", "-ldflags=-compressdwarf=false");
  }

  static Path strippedSw() {
    return build("app-sw", "app", "-ldflags=-s -w");
  }

  static Path strippedPie() {
    return build("app-pie-sw", "app", "-buildmode=pie", "-ldflags=-s -w");
  }

  /** {@code struct.field -> offset} printed by the app itself via unsafe.Offsetof (exported fields only). */
  static Map<String, Long> unsafeOffsets() {
    return parse(run(plain()));
  }

  /** {@code struct.field -> offset} for every member of {@link #STRUCTS}, read by Go's debug/dwarf. */
  static Map<String, Long> goDwarfOffsets(Path binary) {
    List<String> cmd = new ArrayList<>();
    cmd.add(build("dwarfdump", "dwarfdump").toString());
    cmd.add(binary.toString());
    cmd.addAll(STRUCTS);
    return parse(run(cmd.toArray(String[]::new)));
  }

  private static Map<String, Long> parse(String out) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (String line : out.split("\n")) {
      String[] p = line.trim().split(" ");
      if (p.length == 2) {
        m.put(p[0], Long.parseLong(p[1]));
      }
    }
    return m;
  }

  static synchronized Path build(String name, String pkg, String... flags) {
    Path out = BUILT.get(name);
    if (out != null) {
      return out;
    }
    Assumptions.assumeTrue(goAvailable() || "true".equals(System.getenv("CI")), "needs the go toolchain on PATH");
    out = DIR.resolve(name);
    List<String> cmd = new ArrayList<>(GoBuilder.go("build", "-o", out.toString()));
    cmd.addAll(List.of(flags));
    cmd.add(".");
    try {
      Files.createDirectories(DIR);
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(SRC.resolve(pkg).toFile()).redirectErrorStream(true);
      pb.environment().put("GO111MODULE", "off");
      pb.environment().put("CGO_ENABLED", "0");
      pb.environment().put("GOCACHE", "/tmp/gocache-goscope-fields");
      pb.environment().put("GOFLAGS", "");
      Process p = pb.start();
      String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
        fail("go build " + name + " failed: " + log);
      }
    } catch (IOException | InterruptedException e) {
      fail("go build " + name + ": " + e);
    }
    BUILT.put(name, out);
    return out;
  }

  private static boolean goAvailable() {
    try {
      return GoBuilder.goAvailable();
    } catch (RuntimeException e) {
      return false;
    }
  }

  static String run(Path binary) {
    return run(binary.toString());
  }

  static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        fail(String.join(" ", cmd) + " failed: " + out);
      }
      return out;
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  static String field(String qualified) {
    return qualified.substring(qualified.lastIndexOf('.') + 1);
  }

  static String struct(String qualified) {
    return qualified.substring(0, qualified.lastIndexOf('.'));
  }
}
