package io.goscope.platform.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RulesDirectoryTest {
  @TempDir Path dir;

  private static final RuleDefaults NO_SELF = new RuleDefaults(p -> false, true);

  private static List<String> names(RuleSet rules) {
    return rules.includes().stream().map(Rule::name).toList();
  }

  @Test
  void loadsFilesInNameOrderThenGoApps() throws IOException {
    Files.writeString(dir.resolve("b.yaml"), "rules: [{name: b1, match: {}}]\n");
    Files.writeString(dir.resolve("a.yml"), "rules: [{name: a1, match: {}}, {name: a2, match: {}}]\n"
        + "exclude: [{name: x, match: {pod: p}}]\n");
    Files.writeString(dir.resolve("notes.txt"), "rules: [{name: ignored, match: {}}]\n");
    Files.writeString(dir.resolve(".hidden.yaml"), "rules: [{name: ignored, match: {}}]\n");
    Files.createDirectories(dir.resolve("..data"));
    try (RulesDirectory rd = RulesDirectory.builder(dir).defaults(NO_SELF)
        .extraIncludes(GoApps.rules("server")).build()) {
      RuleSet rules = rd.reload();
      assertEquals(List.of("a1", "a2", "b1", "GO_APPS:server"), names(rules));
      assertEquals(List.of("x"), rules.excludes().stream().map(Rule::name).toList());
      assertEquals(Map.of(), rd.errors());
    }
  }

  @Test
  void missingDirectoryGivesOnlyGoApps() {
    try (RulesDirectory rd = RulesDirectory.fromEnv(Map.of(RulesDirectory.RULES_DIR_ENV,
        dir.resolve("missing").toString(), GoApps.ENV, "a,b")).build()) {
      assertEquals(List.of("GO_APPS:a", "GO_APPS:b"), names(rd.reload()));
    }
  }

  @Test
  void brokenFileKeepsLastGoodVersion() throws IOException {
    Path file = dir.resolve("shop.yaml");
    Files.writeString(file, "rules:\n  - name: checkout\n    match: {executable: checkout}\n");
    LinkedBlockingQueue<RuleSet> published = new LinkedBlockingQueue<>();
    try (RulesDirectory rd = RulesDirectory.builder(dir).defaults(NO_SELF).listener(published::add).build()) {
      rd.reload();
      assertEquals(1, published.size());
      Files.writeString(file, "rules:\n  - name: checkout\n    match: {executable: checkout, bogus: 1}\n");
      RuleSet after = rd.reload();
      assertEquals(List.of("checkout"), names(after));
      assertEquals(1, published.size(), "nothing new published for a broken file");
      String error = rd.errors().get("shop.yaml");
      assertTrue(error.startsWith("shop.yaml:3:35: unknown key 'bogus'"), error);

      // A broken new file contributes nothing but does not disturb the others.
      Files.writeString(dir.resolve("new.yaml"), "rules: [\n");
      assertEquals(List.of("checkout"), names(rd.reload()));
      assertTrue(rd.errors().get("new.yaml").startsWith("new.yaml:2:"), rd.errors().toString());

      // Fixing the file publishes the new version and clears the error.
      Files.writeString(file, "rules:\n  - name: checkout-v2\n    match: {executable: checkout}\n");
      assertEquals(List.of("checkout-v2"), names(rd.reload()));
      assertEquals(2, published.size());
      assertEquals(List.of("new.yaml"), List.copyOf(rd.errors().keySet()));
    }
  }

  @Test
  void editingAFileAtRuntimeReachesTheListener() throws Exception {
    LinkedBlockingQueue<RuleSet> published = new LinkedBlockingQueue<>();
    try (RulesDirectory rd = RulesDirectory.builder(dir).defaults(NO_SELF).listener(published::add)
        .rescanInterval(Duration.ofSeconds(30)).build()) { // long rescan: the WatchService must deliver
      rd.start();
      assertEquals(List.of(), names(published.poll(1, TimeUnit.SECONDS)));

      Path file = dir.resolve("apps.yaml");
      Files.writeString(file, "rules: [{name: one, match: {executable: one}}]\n");
      assertEquals(List.of("one"), names(awaitMatching(published, r -> names(r).contains("one"))));

      Files.writeString(file, "rules: [{name: one, match: {executable: one}}, {name: two, match: {}}]\n");
      assertEquals(List.of("one", "two"), names(awaitMatching(published, r -> names(r).contains("two"))));

      Files.writeString(file, "rules: [{name: two, match: {}}]\n");
      assertEquals(List.of("two"), names(awaitMatching(published, r -> !names(r).contains("one"))));

      Files.delete(file);
      assertEquals(List.of(), names(awaitMatching(published, r -> r.includes().isEmpty())));
      assertEquals(List.of(), names(rd.current()));
    }
  }

  @Test
  void periodicRescanWithoutEvents() throws Exception {
    Path missing = dir.resolve("later");
    LinkedBlockingQueue<RuleSet> published = new LinkedBlockingQueue<>();
    try (RulesDirectory rd = RulesDirectory.builder(missing).defaults(NO_SELF).listener(published::add)
        .rescanInterval(Duration.ofMillis(200)).build()) {
      rd.start();
      published.take();
      Files.createDirectories(missing); // created after start: nothing to watch yet, the rescan finds it
      Files.writeString(missing.resolve("r.yaml"), "rules: [{name: late, match: {}}]\n");
      assertEquals(List.of("late"), names(awaitMatching(published, r -> !r.includes().isEmpty())));
    }
  }

  @Test
  void closeIsIdempotent() {
    RulesDirectory rd = RulesDirectory.builder(dir).defaults(NO_SELF).build();
    rd.start();
    rd.close();
    rd.close();
  }

  private static RuleSet awaitMatching(LinkedBlockingQueue<RuleSet> queue, Predicate<RuleSet> condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    while (System.nanoTime() < deadline) {
      RuleSet next = queue.poll(100, TimeUnit.MILLISECONDS);
      if (next != null && condition.test(next)) {
        return next;
      }
    }
    fail("no matching rule set published within 3 s");
    return null;
  }
}
