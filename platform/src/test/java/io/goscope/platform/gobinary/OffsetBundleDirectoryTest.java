package io.goscope.platform.gobinary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OffsetBundleDirectoryTest {
  private static final GoVersion GO = GoVersion.parse("go1.19.8");

  private static String table(String field, long offset) {
    return "fields:\n  - module: std\n    struct: net/http.Request\n    field: " + field
        + "\n    versions:\n      - {from: \"1.19.0\", to: \"1.20.0\", offset: " + offset + "}\n";
  }

  private static void await(BooleanSupplier cond, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void malformedFileIsIgnoredWhileOthersStayInForce(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("a.yaml"), table("Method", 0));
    Files.writeString(dir.resolve("b.yaml"), "fields:\n  - module: std\n    struct: [\n");
    Files.writeString(dir.resolve("notes.txt"), "ignored");
    OffsetBundleDirectory d = OffsetBundleDirectory.scanOnce(dir);
    assertEquals(OptionalLong.of(0), d.lookup("std", GO, "net/http.Request", "Method"));
    assertEquals(1, d.errors().size());
    String err = d.errors().get(dir.toAbsolutePath().resolve("b.yaml"));
    assertTrue(err.contains("b.yaml:"), err);
    // a valid file turning malformed drops out; the rest remain
    Files.writeString(dir.resolve("a.yaml"), "fields: [");
    Files.writeString(dir.resolve("b.yaml"), table("URL", 16));
    d.rescan();
    assertTrue(d.lookup("std", GO, "net/http.Request", "Method").isEmpty());
    assertEquals(OptionalLong.of(16), d.lookup("std", GO, "net/http.Request", "URL"));
    assertEquals(1, d.errors().size());
    assertTrue(d.find("std", GO, "net/http.Request", "URL").orElseThrow().origin().contains("b.yaml:"));
  }

  @Test
  void hotReloadsCreatedChangedAndDeletedFiles(@TempDir Path dir) throws Exception {
    try (OffsetBundleDirectory d = OffsetBundleDirectory.watch(dir, Duration.ofMillis(500))) {
      assertTrue(d.lookup("std", GO, "net/http.Request", "Host").isEmpty());
      Files.writeString(dir.resolve("extra.yaml"), table("Host", 128));
      await(() -> d.lookup("std", GO, "net/http.Request", "Host").isPresent(), "new file");
      assertEquals(OptionalLong.of(128), d.lookup("std", GO, "net/http.Request", "Host"));
      Files.writeString(dir.resolve("extra.yaml"), table("Host", 136));
      await(() -> d.lookup("std", GO, "net/http.Request", "Host").equals(OptionalLong.of(136)), "changed file");
      Files.delete(dir.resolve("extra.yaml"));
      await(() -> d.lookup("std", GO, "net/http.Request", "Host").isEmpty(), "deleted file");
    }
  }

  @Test
  void directoryCreatedLaterIsPickedUpByRescan(@TempDir Path parent) throws Exception {
    Path dir = parent.resolve("later");
    try (OffsetBundleDirectory d = OffsetBundleDirectory.watch(dir, Duration.ofMillis(200))) {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("x.yml"), table("Proto", 24));
      await(() -> d.lookup("std", GO, "net/http.Request", "Proto").isPresent(), "file in late directory");
    }
  }
}
