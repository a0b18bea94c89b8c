package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DwarfStructsTest {

  private static DwarfStructs dwarf(Path binary) throws IOException {
    MiniElf elf = new MiniElf(binary);
    return DwarfStructs.of(binary.toString(), elf::section).orElseThrow();
  }

  @Test
  void exportedFieldsMatchUnsafeOffsetof() throws IOException {
    DwarfStructs d = dwarf(FieldFixtures.plain());
    Map<String, Long> truth = FieldFixtures.unsafeOffsets();
    assertEquals(11, truth.size(), truth.toString());
    truth.forEach((qualified, off) -> assertEquals(OptionalLong.of(off),
        d.offset(FieldFixtures.struct(qualified), FieldFixtures.field(qualified)), qualified));
  }

  @Test
  void everyNeededFieldMatchesGoDebugDwarf() throws IOException {
    Path bin = FieldFixtures.plain();
    DwarfStructs d = dwarf(bin);
    Map<String, Long> truth = FieldFixtures.goDwarfOffsets(bin);
    for (String f : FieldFixtures.FIELDS) {
      assertTrue(truth.containsKey(f), f);
      assertEquals(OptionalLong.of(truth.get(f)), d.offset(FieldFixtures.struct(f), FieldFixtures.field(f)), f);
    }
    // every member, not just the ones we ship
    truth.forEach((qualified, off) -> assertEquals(OptionalLong.of(off),
        d.offset(FieldFixtures.struct(qualified), FieldFixtures.field(qualified)), qualified));
  }

  @Test
  void compressedAndUncompressedDwarfAgree() throws IOException {
    MiniElf compressed = new MiniElf(FieldFixtures.plain());
    MiniElf raw = new MiniElf(FieldFixtures.uncompressed());
    assertTrue(compressed.compressed(".debug_info"), "Go 1.19 compresses DWARF by default on Linux");
    assertFalse(raw.compressed(".debug_info"), "-compressdwarf=false leaves DWARF uncompressed");
    DwarfStructs a = dwarf(FieldFixtures.plain());
    DwarfStructs b = dwarf(FieldFixtures.uncompressed());
    for (String s : FieldFixtures.STRUCTS) {
      assertFalse(a.fields(s).isEmpty(), s);
      assertEquals(a.fields(s), b.fields(s), s);
    }
  }

  @Test
  void strippedBinaryHasNoDwarf() throws IOException {
    MiniElf elf = new MiniElf(FieldFixtures.strippedSw());
    assertTrue(DwarfStructs.of("sw", elf::section).isEmpty());
  }

  @Test
  void unknownStructAndFieldAreEmpty() throws IOException {
    DwarfStructs d = dwarf(FieldFixtures.plain());
    assertTrue(d.offset("net/http.NoSuchType", "X").isEmpty());
    assertTrue(d.offset("net/http.Request", "NoSuchField").isEmpty());
    assertTrue(d.structCount() > 100);
  }

  /** DWARF 5 (clang: strx forms, .debug_str_offsets, .debug_line_str) and DWARF 4 with DW_AT_sibling (gcc). */
  @ParameterizedTest
  @ValueSource(strings = {"clang -gdwarf-5", "gcc -gdwarf-4", "clang -gdwarf-4"})
  void cCompilersDwarfMatchesOffsetof(String compiler) throws IOException {
    String[] cc = compiler.split(" ");
    Path src = Path.of("src", "test", "resources", "gobinary-fields", "c", "sample.c").toAbsolutePath();
    Path out = FieldFixtures.DIR.resolve("sample-" + compiler.replace(' ', '_'));
    Assumptions.assumeTrue(new java.io.File("/usr/bin/" + cc[0]).canExecute() || "true".equals(System.getenv("CI")),
        cc[0] + " not installed");
    java.nio.file.Files.createDirectories(FieldFixtures.DIR);
    FieldFixtures.run(cc[0], cc[1], "-O0", "-o", out.toString(), src.toString());
    DwarfStructs d = dwarf(out);
    String printed = FieldFixtures.run(out);
    int n = 0;
    for (String line : printed.split("\n")) {
      String[] p = line.split(" ");
      String[] sf = p[0].split("\\.");
      assertEquals(OptionalLong.of(Long.parseLong(p[1])), d.offset(sf[0], sf[1]), compiler + " " + line);
      n++;
    }
    assertEquals(6, n);
  }

  @Test
  void truncatedInfoIsAFormatError() throws IOException {
    MiniElf elf = new MiniElf(FieldFixtures.uncompressed());
    ByteBuffer info = elf.section(".debug_info").orElseThrow();
    ByteBuffer cut = info.slice(0, 5000);
    DwarfStructs d = DwarfStructs.of("cut", n -> n.equals(".debug_info") ? Optional.of(cut) : elf.section(n))
        .orElseThrow();
    GoBinaryFormatException e = assertThrows(GoBinaryFormatException.class, () -> d.hasStruct("x"));
    assertTrue(e.getMessage().startsWith("cut: "), e.getMessage());
  }
}
