package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.StructField;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FieldResolverTest {
  private static final GoVersion GO119 = GoVersion.parse("go1.19.8");

  private static List<StructField> needed() {
    return FieldFixtures.FIELDS.stream()
        .map(q -> StructField.std(FieldFixtures.struct(q), FieldFixtures.field(q), "off_" + FieldFixtures.field(q)))
        .toList();
  }

  private static void assertAllFrom(Path binary, FieldSource expected) {
    Map<String, Long> truth = FieldFixtures.goDwarfOffsets(FieldFixtures.plain());
    FieldResolver resolver = new FieldResolver(List.of(), null);
    try (GoBinary b = GoBinary.open(binary)) {
      for (ResolvedField r : resolver.resolveAll(b, needed(), List.of())) {
        assertEquals(expected, r.source(), r.toString());
        assertEquals(OptionalLong.of(truth.get(r.field().qualifiedName())), r.offset(), r.toString());
      }
    }
  }

  @Test
  void unstrippedBinaryIsAnsweredByDwarf() {
    assertAllFrom(FieldFixtures.plain(), FieldSource.DWARF);
  }

  @Test
  void uncompressedDwarfIsAnsweredByDwarf() {
    assertAllFrom(FieldFixtures.uncompressed(), FieldSource.DWARF);
  }

  @Test
  void strippedBinaryIsAnsweredByTypeMetadata() {
    assertAllFrom(FieldFixtures.strippedSw(), FieldSource.TYPE_METADATA);
  }

  @Test
  void strippedPieBinaryIsAnsweredByTypeMetadata() {
    assertAllFrom(FieldFixtures.strippedPie(), FieldSource.TYPE_METADATA);
  }

  private static final String TABLE = """
      fields:
        - module: std
          struct: net/http.Request
          field: Method
          versions:
            - {from: "1.19.0", to: "1.20.0", offset: 0}
        - module: example.com/lib
          struct: example.com/lib.Conn
          field: fd
          versions:
            - {from: "v1.2.0", offset: 40}
      """;

  private static FieldResolver.BinaryView opaque(String key, AtomicInteger parses) {
    return new FieldResolver.BinaryView("/bin/app", key, GO119, Map.of("example.com/lib", "v1.2.3"),
        () -> {
          parses.incrementAndGet();
          return Optional.empty();
        },
        () -> {
          parses.incrementAndGet();
          return Optional.empty();
        });
  }

  @Test
  void tablesThenBundlesThenMissing(@TempDir Path dir) throws Exception {
    OffsetTable probeTable = OffsetTable.parse("probe.yaml", new StringReader(TABLE));
    Files.writeString(dir.resolve("extra.yaml"), """
        fields:
          - module: std
            struct: net/http.Request
            field: Host
            versions:
              - {from: "1.19.0", to: "1.20.0", offset: 128}
        """);
    try (OffsetBundleDirectory bundles = OffsetBundleDirectory.scanOnce(dir)) {
      FieldResolver resolver = new FieldResolver(List.of(), bundles);
      AtomicInteger parses = new AtomicInteger();
      FieldResolver.BinaryView view = opaque("build-1", parses);
      ResolvedField method = resolver.resolve(view, StructField.std("net/http.Request", "Method", "m"),
          List.of(probeTable));
      assertEquals(FieldSource.TABLE, method.source());
      assertEquals(OptionalLong.of(0), method.offset());
      assertEquals("probe.yaml:6", method.detail());

      ResolvedField lib = resolver.resolve(view, new StructField("example.com/lib", "example.com/lib.Conn", "fd",
          "f"), List.of(probeTable));
      assertEquals(OptionalLong.of(40), lib.offset());
      assertEquals(FieldSource.TABLE, lib.source());

      ResolvedField host = resolver.resolve(view, StructField.std("net/http.Request", "Host", "h"),
          List.of(probeTable));
      assertEquals(FieldSource.BUNDLE, host.source());
      assertEquals(OptionalLong.of(128), host.offset());
      assertTrue(host.detail().contains("extra.yaml:"), host.detail());

      ResolvedField none = resolver.resolve(view, StructField.std("net/http.Request", "Nope", "n"),
          List.of(probeTable));
      assertEquals(FieldSource.MISSING, none.source());
      assertTrue(none.detail().contains("dwarf: absent"), none.detail());
      assertTrue(none.detail().contains("type metadata: unavailable"), none.detail());

      ResolvedField unknownModule = resolver.resolve(view, new StructField("example.com/other", "example.com/other.T",
          "x", "x"), List.of(probeTable));
      assertEquals(FieldSource.MISSING, unknownModule.source());
      assertTrue(unknownModule.detail().contains("version unknown"), unknownModule.detail());

      // the binary's own sources are parsed once per view, and their answers are cached per build id
      assertEquals(2, parses.get());
      AtomicInteger again = new AtomicInteger();
      resolver.resolve(opaque("build-1", again), StructField.std("net/http.Request", "Method", "m"), List.of());
      assertEquals(0, again.get());
    }
  }

  @Test
  void shippedNethttpTableMatchesThisToolchain() {
    Path shipped = Path.of("..", "plugins", "probe-nethttp", "src", "main", "resources", "offsets",
        "nethttp-offsets.yaml");
    OffsetTable t = OffsetTable.load(shipped);
    Map<String, Long> truth = FieldFixtures.goDwarfOffsets(FieldFixtures.plain());
    GoVersion go;
    try (GoBinary b = GoBinary.open(FieldFixtures.plain())) {
      go = b.goVersion();
    }
    for (StructField f : needed()) {
      assertEquals(OptionalLong.of(truth.get(f.qualifiedName())), t.lookup("std", go, f.structType(), f.field()),
          f.qualifiedName());
    }
  }
}
