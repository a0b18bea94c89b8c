package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class OffsetTableTest {
  private static final String TABLE = """
      # test table
      fields:
        - module: std
          struct: net/http.Request
          field: Method
          versions:
            - {from: "1.19.0", to: "1.20.0", offset: 0, source: "dwarf go1.19.8"}
            - {from: "1.20.0", offset: 8}
        - module: google.golang.org/grpc
          struct: google.golang.org/grpc/internal/transport.Stream
          field: method
          versions:
            - {from: "v1.33.0", to: "v1.40.0", offset: 80}
      """;

  private static OffsetTable parse(String yaml) {
    return OffsetTable.parse("t.yaml", new StringReader(yaml));
  }

  @Test
  void lookupHonoursHalfOpenRanges() {
    OffsetTable t = parse(TABLE);
    assertEquals(2, t.entries().size());
    assertEquals(OptionalLong.of(0), t.lookup("std", GoVersion.parse("go1.19.0"), "net/http.Request", "Method"));
    assertEquals(OptionalLong.of(0), t.lookup("std", GoVersion.parse("go1.19.8"), "net/http.Request", "Method"));
    assertEquals(OptionalLong.of(8), t.lookup("std", GoVersion.parse("go1.20"), "net/http.Request", "Method"));
    assertEquals(OptionalLong.of(8), t.lookup("std", GoVersion.parse("go1.23.1"), "net/http.Request", "Method"));
    assertTrue(t.lookup("std", GoVersion.parse("go1.18.10"), "net/http.Request", "Method").isEmpty());
    assertTrue(t.lookup("std", GoVersion.parse("go1.19.8"), "net/http.Request", "URL").isEmpty());
    assertEquals(OptionalLong.of(80), t.lookup("google.golang.org/grpc", GoVersion.parse("v1.33.3"),
        "google.golang.org/grpc/internal/transport.Stream", "method"));
    assertTrue(t.lookup("google.golang.org/grpc", GoVersion.parse("v1.40.0"),
        "google.golang.org/grpc/internal/transport.Stream", "method").isEmpty());
    assertEquals("t.yaml:7 (dwarf go1.19.8)",
        t.find("std", GoVersion.parse("1.19.3"), "net/http.Request", "Method").orElseThrow().origin());
  }

  @Test
  void roundTripsThroughToYaml() {
    OffsetTable t = parse(TABLE);
    OffsetTable again = parse(t.toYaml("generated"));
    assertEquals(t.entries().size(), again.entries().size());
    assertEquals(t.entries().get(0).ranges().get(0).offset(), again.entries().get(0).ranges().get(0).offset());
    OffsetTable.Range a = t.entries().get(1).ranges().get(0);
    OffsetTable.Range b = again.entries().get(1).ranges().get(0);
    assertEquals(List.of(a.from(), a.to(), a.offset()), List.of(b.from(), b.to(), b.offset()));
    assertEquals("dwarf go1.19.8", again.entries().get(0).ranges().get(0).provenance());
  }

  private static OffsetTableFormatException bad(String yaml) {
    return assertThrows(OffsetTableFormatException.class, () -> parse(yaml));
  }

  @Test
  void malformedYamlNamesFileAndLine() {
    OffsetTableFormatException e = bad("fields:\n  - module: std\n    struct: [unclosed\n");
    assertEquals("t.yaml", e.source());
    assertTrue(e.line() >= 3, e.getMessage());
    assertTrue(e.getMessage().startsWith("t.yaml:" + e.line() + ": malformed YAML"), e.getMessage());
  }

  @Test
  void badEntriesNameTheLine() {
    OffsetTableFormatException e = bad(TABLE.replace("offset: 80", "offset: eighty"));
    assertEquals(13, e.line(), e.getMessage());
    assertTrue(e.getMessage().contains("eighty"), e.getMessage());
    e = bad(TABLE.replace("field: method\n", "field: method\n      colour: red\n"));
    assertEquals(12, e.line(), e.getMessage());
    e = bad(TABLE.replace("{from: \"1.20.0\", offset: 8}", "{from: \"1.19.5\", offset: 8}"));
    assertEquals(8, e.line(), e.getMessage());
    assertTrue(e.getMessage().contains("overlaps"), e.getMessage());
    e = bad(TABLE.replace("to: \"1.20.0\"", "to: \"1.18.0\""));
    assertEquals(7, e.line(), e.getMessage());
    e = bad(TABLE.replace("from: \"v1.33.0\"", "from: \"latest\""));
    assertEquals(13, e.line(), e.getMessage());
    e = bad("fields: 3\n");
    assertEquals(1, e.line());
    e = bad("fieldz: []\n");
    assertEquals(1, e.line());
  }

  @Test
  void refusesToConstructArbitraryObjects() {
    OffsetTableFormatException e = bad("fields:\n  - !!java.io.File [\"/etc/passwd\"]\n");
    assertEquals(2, e.line(), e.getMessage());
    OffsetTable empty = parse("");
    assertTrue(empty.entries().isEmpty());
  }

  @Test
  void duplicateKeysAreRejected() {
    OffsetTableFormatException e = bad(TABLE.replace("field: Method\n", "field: Method\n    field: URL\n"));
    assertTrue(e.line() > 0, e.getMessage());
  }
}
