package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bin/goscope inspect --json <binary>} run as users run it: the Go version it read and, per struct field the
 * probe sets need, where its offset came from ({@code DWARF}, {@code TYPE_METADATA}, {@code TABLE}, ...).
 */
final class InspectReport {
  private static final Pattern FIELD =
      Pattern.compile("\"field\": \"([^\"]+)\",\\s*\"offset\": (?:\\d+|null),\\s*\"source\": \"([A-Z_]+)\"");
  private static final Pattern SET = Pattern.compile("\"id\": \"([^\"]+)\",\\s*\"verdict\": \"([^\"]*)\"");
  private static final Pattern GO_VERSION = Pattern.compile("\"goVersion\": \"([^\"]*)\"");

  private final String output;

  private InspectReport(String output) {
    this.output = output;
  }

  /** Runs {@code goscope inspect --json binary}, which must exit 0 within a minute. */
  static InspectReport of(Path binary) throws Exception {
    try (AgentProcess inspect = AgentProcess.start(Map.of(), "inspect", "--json", binary.toString())) {
      int exit = inspect.awaitExit(Duration.ofSeconds(60));
      String output = String.join("\n", inspect.output());
      assertEquals(0, exit, "inspect exit code; output:\n" + output);
      return new InspectReport(output);
    }
  }

  /** The Go version the binary reports. */
  String goVersion() {
    Matcher m = GO_VERSION.matcher(output);
    assertTrue(m.find(), "goVersion in:\n" + output);
    return m.group(1);
  }

  /**
   * Every field of every probe set that attaches to the binary, with the source of its offset ({@code MISSING} where
   * there is none). A set that does not (the database probe sets in a program without a database) is left out: its
   * fields have nothing to be read from.
   */
  Map<String, String> fieldSources() {
    List<int[]> skipped = new ArrayList<>(); // [start, end) of the sets that do not apply
    Matcher set = SET.matcher(output);
    int start = -1;
    boolean skip = false;
    while (set.find()) {
      if (skip) {
        skipped.add(new int[] {start, set.start()});
      }
      start = set.start();
      skip = set.group(2).startsWith("skipped: no probe of set") || set.group(2).startsWith("skipped: not applicable");
    }
    if (skip) {
      skipped.add(new int[] {start, output.length()});
    }
    Map<String, String> sources = new LinkedHashMap<>();
    Matcher m = FIELD.matcher(output);
    while (m.find()) {
      int at = m.start();
      if (skipped.stream().noneMatch(r -> at >= r[0] && at < r[1])) {
        sources.put(m.group(1), m.group(2));
      }
    }
    return sources;
  }

  /** The whole output, for assertion messages. */
  @Override
  public String toString() {
    return output;
  }
}
