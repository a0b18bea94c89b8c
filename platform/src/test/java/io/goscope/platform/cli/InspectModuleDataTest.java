package io.goscope.platform.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.GoBinary;
import io.goscope.platform.gobinary.ModuleData;
import io.goscope.platform.instrument.ProbePlanner;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.TestBinaries;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code goscope inspect} says about the module data: on a stripped Go 1.27 build, the layout it discovered
 * (the typedesclen walk) and every invariant that held; on a copy whose function table slice no longer matches,
 * which invariant failed and what was found instead, while the fields still come from the probe's table.
 */
class InspectModuleDataTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static Path strippedNewest() {
    GoToolchain go = TestBinaries.goRelease(TestBinaries.NEWEST_GO);
    return GoBuilder.build(go, InspectReportTest.SRC, InspectReportTest.OUT.resolve(go.version() + "-stripped"),
        List.of("-ldflags=-s -w"), Map.of());
  }

  static JsonNode report(Path bin) throws Exception {
    try (GoBinary b = GoBinary.open(bin)) {
      Map<String, Object> r = InspectCommand.report(b, List.of(new NetHttpProbeSetFixture()),
          new ProbePlanner(new FieldResolver(List.of(NetHttpProbeSetFixture.bundledTable()), null)));
      return JSON.readTree(JsonWriter.write(r));
    }
  }

  @Test
  void reportsTheDiscoveredLayout() throws Exception {
    JsonNode md = report(strippedNewest()).get("moduleData");
    assertTrue(md.get("found").asBoolean(), md.toString());
    assertTrue(md.get("typesResolved").asBoolean(), md.toString());
    assertEquals("section .go.module", md.get("foundBy").asText());
    JsonNode layout = md.get("layout");
    assertEquals(128, layout.get("ftab").asInt());
    assertEquals(296, layout.get("types").asInt());
    assertEquals(304, layout.get("typedesclen").asInt());
    assertEquals(320, layout.get("itaboffset").asInt());
    for (JsonNode c : md.get("checks")) {
      assertTrue(c.get("held").asBoolean(), c.toString());
    }
  }

  @Test
  void saysWhichInvariantFailedAndWhatWasFound(@TempDir Path tmp) throws Exception {
    Path bin = Files.copy(strippedNewest(), tmp.resolve("broken"));
    try (GoBinary b = GoBinary.open(bin)) {
      ModuleData md = b.moduleData();
      long ftabLen = b.elf().fileOffsetForVaddr(md.address()) + md.offsetOf("ftab") + 8;
      try (FileChannel ch = FileChannel.open(bin, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 12), ftabLen);
      }
    }
    JsonNode r = report(bin);
    JsonNode md = r.get("moduleData");
    assertFalse(md.get("found").asBoolean(), md.toString());
    JsonNode failed = null;
    for (JsonNode c : md.get("candidates").get(0).get("checks")) {
      if (!c.get("held").asBoolean()) {
        failed = c;
      }
    }
    assertTrue(failed != null && failed.get("invariant").asText().startsWith("ftab slice"), md.toString());
    assertTrue(failed.get("found").asText().contains("+128 {0x"), failed.toString());
    assertTrue(failed.get("found").asText().contains(", 12, "), "the slice that is there: " + failed);
    JsonNode set = r.get("probeSets").get(0);
    JsonNode fn = set.get("functions").get(0);
    assertFalse(fn.get("found").asBoolean(), fn.toString());
    assertTrue(fn.get("verdict").asText().contains("moduledata not found"), fn.toString());
    for (JsonNode f : set.get("fields")) {
      if (!f.get("field").asText().startsWith("net/http.http2")) {
        assertEquals("TABLE", f.get("source").asText(), "falls back to the table: " + f);
      }
    }

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    String old = System.getProperty("goscope.plugins.dir");
    System.setProperty("goscope.plugins.dir", Files.createDirectories(tmp.resolve("plugins")).toString());
    try {
      assertEquals(0, Main.run(new String[] {"inspect", bin.toString()}, new PrintStream(out),
          new PrintStream(new ByteArrayOutputStream())));
    } finally {
      if (old == null) {
        System.clearProperty("goscope.plugins.dir");
      } else {
        System.setProperty("goscope.plugins.dir", old);
      }
    }
    String text = out.toString();
    assertTrue(text.contains("moduledata: NOT FOUND"), text);
    assertTrue(text.contains("FAILED ftab slice: function table, len = cap = nfunc+1: no slice {0x"), text);
    assertTrue(text.contains("go version: go1.27.3"), text);
  }
}
