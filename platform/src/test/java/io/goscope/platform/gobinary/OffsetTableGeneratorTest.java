package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.StructField;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OffsetTableGeneratorTest {

  private static int run(List<String> args, ByteArrayOutputStream err) {
    return OffsetTableGenerator.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void generatesRangesFromDwarf(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("t.yaml");
    List<String> args = new ArrayList<>(List.of("--out", out.toString()));
    for (String f : FieldFixtures.FIELDS) {
      args.add("--field");
      args.add(f);
    }
    args.add(FieldFixtures.plain().toString());
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, run(args, err), err.toString());
    OffsetTable t = OffsetTable.load(out);
    assertEquals(FieldFixtures.FIELDS.size(), t.entries().size());
    Map<String, Long> truth = FieldFixtures.goDwarfOffsets(FieldFixtures.plain());
    for (String f : FieldFixtures.FIELDS) {
      assertEquals(OptionalLong.of(truth.get(f)),
          t.lookup("std", GoVersion.parse("1.19.0"), FieldFixtures.struct(f), FieldFixtures.field(f)), f);
      assertTrue(t.lookup("std", GoVersion.parse("1.20.0"), FieldFixtures.struct(f), FieldFixtures.field(f))
          .isEmpty());
    }
    assertTrue(Files.readString(out).contains("source: \"dwarf go1.19"), Files.readString(out));
  }

  @Test
  void mergeKeepsOtherVersionsAndCoalesces(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("t.yaml");
    Files.writeString(out, """
        fields:
          - module: std
            struct: net/http.Request
            field: Method
            versions:
              - {from: "1.17.0", to: "1.18.0", offset: 8, source: "hand"}
              - {from: "1.18.0", to: "1.19.0", offset: 0, source: "older"}
              - {from: "1.19.0", to: "1.20.0", offset: 99, source: "wrong"}
        """);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, run(List.of("--out", out.toString(), "--merge", "--field", "net/http.Request.Method",
        FieldFixtures.plain().toString()), err), err.toString());
    OffsetTable t = OffsetTable.load(out);
    List<OffsetTable.Range> ranges = t.entries().get(0).ranges();
    assertEquals(2, ranges.size(), ranges.toString());
    assertEquals(8, ranges.get(0).offset());
    assertEquals(GoVersion.parse("1.18.0"), ranges.get(1).from());
    assertEquals(GoVersion.parse("1.20.0"), ranges.get(1).to());
    assertEquals(0, ranges.get(1).offset());
  }

  @Test
  void strippedBinaryReportsMissing(@TempDir Path dir) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(1, run(List.of("--out", dir.resolve("t.yaml").toString(), "--field", "net/http.Request.Method",
        FieldFixtures.strippedSw().toString()), err));
    assertTrue(err.toString().contains("no DWARF"), err.toString());
    assertEquals(2, run(List.of("--bogus"), new ByteArrayOutputStream()));
  }

  @Test
  void strippedBinaryFallsBackToTypeMetadataWhenAsked(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("t.yaml");
    List<String> args = new ArrayList<>(List.of("--out", out.toString(), "--type-metadata"));
    for (String f : FieldFixtures.FIELDS) {
      args.add("--field");
      args.add(f);
    }
    args.add(FieldFixtures.strippedSw().toString());
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(0, run(args, err), err.toString());
    OffsetTable t = OffsetTable.load(out);
    Map<String, Long> truth = FieldFixtures.goDwarfOffsets(FieldFixtures.plain()); // the unstripped twin
    for (String f : FieldFixtures.FIELDS) {
      assertEquals(OptionalLong.of(truth.get(f)),
          t.lookup("std", GoVersion.parse("1.19.0"), FieldFixtures.struct(f), FieldFixtures.field(f)), f);
    }
    String yaml = Files.readString(out);
    assertTrue(yaml.contains("source: \"type metadata go1.19") && !yaml.contains("dwarf"), yaml);
  }

  @Test
  void parsesFieldSpecs() {
    assertEquals(StructField.std("net/http.Request", "Method", "-"),
        OffsetTableGenerator.parseField("net/http.Request.Method"));
    assertEquals(new StructField("google.golang.org/grpc", "google.golang.org/grpc/internal/transport.Stream",
        "method", "-"),
        OffsetTableGenerator.parseField("google.golang.org/grpc:google.golang.org/grpc/internal/transport.Stream.method"));
    assertThrows(IllegalArgumentException.class, () -> OffsetTableGenerator.parseField("Request.Method"));
  }
}
