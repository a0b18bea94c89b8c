package io.goscope.platform.gobinary.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/** Offset-table YAML inputs: the plugin's real table and hostile templates, mutated token- and byte-wise. */
final class YamlMutations {
  static final List<String> TEMPLATES = List.of(
      "fields: []\n",
      "fields:\n  - {module: std, struct: net/http.Request, field: Method, versions: [{from: 1.19.0, to: 1.20.0,"
          + " offset: 0}]}\n",
      "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b]\n"
          + "fields: [*c, *c, *c, *c]\n",
      "fields:\n" + "  - ".repeat(1) + "[".repeat(2000) + "]".repeat(2000) + "\n",
      "fields:\n  - {module: std, struct: s, field: f, versions: [{from: 1.19.0, offset: 99999999999999999999999}]}\n",
      "fields:\n  - {module: std, struct: s, field: f, versions: [{from: 1.x, offset: -1}]}\n",
      "fields:\n  - &e {module: std, struct: s, field: f, versions: [{from: 1.19.0, offset: 8}]}\n  - *e\n",
      "fields: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL [\"http://x\"]]]]\n",
      "fields:\n  - {module: std, struct: s, field: f, versions: [{from: 1.19.0, to: 1.18.0, offset: 8}]}\n",
      "? [a, b]\n: c\n");
  private static final String[] TOKENS = {":", "-", "{", "}", "[", "]", ",", "&a ", "*a", "\n", "  ", "\t", "\"",
      "'", "!!int ", "0x", "1.19.0", "offset: ", "versions: ", "~", "#", "%YAML 1.1\n", "---\n", "...\n", "\u0000",
      "\uFEFF", "99999999999999999999", "-1", "<<: *a\n"};

  private static String table;

  private YamlMutations() {}

  static synchronized String table() {
    if (table == null) {
      for (Path p : List.of(Path.of("../plugins/probe-nethttp/src/main/resources/offsets/nethttp-offsets.yaml"),
          Path.of("plugins/probe-nethttp/src/main/resources/offsets/nethttp-offsets.yaml"))) {
        if (Files.isRegularFile(p)) {
          try {
            table = Files.readString(p);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }
      if (table == null) {
        table = TEMPLATES.get(1);
      }
    }
    return table;
  }

  static byte[] mutate(Random rnd) {
    String base = rnd.nextInt(3) == 0 ? TEMPLATES.get(rnd.nextInt(TEMPLATES.size())) : table();
    StringBuilder s = new StringBuilder(base);
    int ops = rnd.nextInt(6);
    for (int i = 0; i < ops && s.length() > 0; i++) {
      int at = rnd.nextInt(s.length());
      switch (rnd.nextInt(4)) {
        case 0 -> s.insert(at, TOKENS[rnd.nextInt(TOKENS.length)]);
        case 1 -> s.delete(at, Math.min(s.length(), at + 1 + rnd.nextInt(16)));
        case 2 -> s.setCharAt(at, (char) (32 + rnd.nextInt(95)));
        default -> {
          int from = rnd.nextInt(s.length());
          int len = Math.min(s.length() - from, rnd.nextInt(80));
          s.insert(at, s.substring(from, from + len));
        }
      }
    }
    return s.toString().getBytes(StandardCharsets.UTF_8);
  }
}
