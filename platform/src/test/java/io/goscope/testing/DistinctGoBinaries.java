package io.goscope.testing;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Many different net/http servers, as on a node running many Go services: server {@code i} has its own routes,
 * {@code i + 1} handler functions and struct types of its own and its own build ID, so no two binaries share a layout
 * or a cache key. Built stripped ({@code -s -w}), like release images; GoBuilder's cache skips unchanged builds.
 */
public final class DistinctGoBinaries {
  private DistinctGoBinaries() {}

  /** The source of server {@code i}. */
  static String source(int i) {
    StringBuilder s = new StringBuilder("package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n\t\"os\"\n)\n\n");
    s.append("const service = \"svc-").append(i).append("\"\n\n");
    for (int k = 0; k <= i; k++) {
      s.append("type Payload").append(k).append(" struct {\n\tID int\n\tName string\n\tTags [").append(k + 1)
          .append("]string\n}\n\n");
      s.append("func handler").append(k).append("(w http.ResponseWriter, r *http.Request) {\n")
          .append("\tp := Payload").append(k).append("{ID: ").append(k).append(", Name: r.URL.Path}\n")
          .append("\tfmt.Fprintf(w, \"%s %+v\\n\", service, p)\n}\n\n");
    }
    s.append("func main() {\n\tmux := http.NewServeMux()\n");
    for (int k = 0; k <= i; k++) {
      s.append("\tmux.HandleFunc(\"/h").append(k).append("\", handler").append(k).append(")\n");
    }
    s.append("\taddr := \":8080\"\n\tif len(os.Args) > 1 {\n\t\taddr = os.Args[1]\n\t}\n")
        .append("\tif err := http.ListenAndServe(addr, mux); err != nil {\n\t\tfmt.Fprintln(os.Stderr, err)\n")
        .append("\t\tos.Exit(1)\n\t}\n}\n");
    return s.toString();
  }

  /** Builds servers {@code 0 .. n-1} with {@code toolchain} into {@code dir}. */
  public static List<Path> build(GoToolchain toolchain, Path dir, int n) {
    requireNonNull(toolchain, "toolchain");
    List<Path> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Path bin = dir.resolve("svc-" + i);
      Path src = dir.resolve("svc-" + i + ".src");
      try {
        java.nio.file.Files.createDirectories(src);
        Path main = src.resolve("main.go");
        String text = source(i);
        if (!java.nio.file.Files.exists(main) || !java.nio.file.Files.readString(main).equals(text)) {
          java.nio.file.Files.writeString(main, text);
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("write " + src, e);
      }
      out.add(GoBuilder.build(toolchain, src, bin, List.of("-ldflags=-s -w"), Map.of()));
    }
    return out;
  }
}
