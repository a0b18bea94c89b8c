package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class TypeMetadataTest {
  private static final GoVersion GO119 = GoVersion.parse("go1.19.8");

  static TypeMetadata metadata(Path binary, boolean withItabs) throws IOException {
    MiniElf elf = new MiniElf(binary);
    MiniElf.Module m = elf.module119();
    return withItabs
        ? new TypeMetadata(elf.addressSpace(), m.types(), m.etypes(), m.typelinks(), m.itabTypes(), GO119)
        : new TypeMetadata(elf.addressSpace(), m.types(), m.etypes(), m.typelinks(), GO119);
  }

  private static void assertMatchesDwarf(Path binary) throws IOException {
    Map<String, Long> truth = FieldFixtures.goDwarfOffsets(FieldFixtures.plain());
    TypeMetadata t = metadata(binary, true);
    for (String f : FieldFixtures.FIELDS) {
      assertEquals(OptionalLong.of(truth.get(f)), t.offset(FieldFixtures.struct(f), FieldFixtures.field(f)),
          f + " in " + binary.getFileName());
    }
    for (String s : FieldFixtures.STRUCTS) {
      truth.forEach((q, off) -> {
        if (FieldFixtures.struct(q).equals(s)) {
          assertEquals(off, t.fields(s).get(FieldFixtures.field(q)), q);
        }
      });
    }
  }

  @Test
  void strippedBuildMatchesDwarf() throws IOException {
    assertMatchesDwarf(FieldFixtures.strippedSw());
  }

  @Test
  void strippedPieBuildMatchesDwarf() throws IOException {
    assertMatchesDwarf(FieldFixtures.strippedPie());
  }

  @Test
  void unstrippedBuildMatchesDwarf() throws IOException {
    assertMatchesDwarf(FieldFixtures.plain());
  }

  @Test
  void typelinksAloneReachRequestAndUrl() throws IOException {
    TypeMetadata t = metadata(FieldFixtures.strippedSw(), false);
    assertEquals(OptionalLong.of(0), t.offset("net/http.Request", "Method"));
    assertEquals(OptionalLong.of(56), t.offset("net/url.URL", "Path"));
    assertTrue(t.structCount() > 50, "structs=" + t.structCount());
    // typelinks alone reach net/http.response too (through method signatures and ptrToThis)
    assertEquals(OptionalLong.of(120), t.offset("net/http.response", "status"));
    assertTrue(t.offset("net/http.Request", "NoSuchField").isEmpty());
    assertTrue(t.offset("net/http.NoSuchType", "Method").isEmpty());
  }
}
