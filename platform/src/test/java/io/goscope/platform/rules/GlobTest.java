package io.goscope.platform.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlobTest {
  @ParameterizedTest
  @CsvSource({
      "checkout*, checkout, true",
      "checkout*, checkout-api, true",
      "checkout*, my-checkout, false",
      "server, server, true",
      "server, server2, false",
      "?erver, server, true",
      "?erver, erver, false",
      "*, anything, true",
      "*, a/b, false",
      "/app/**, /app/bin/server, true",
      "/app/**, /app/server, true",
      "/app/**, /application/server, false",
      "/app/*, /app/bin/server, false",
      "/app/**/server, /app/server, true",
      "/app/**/server, /app/a/b/server, true",
      "/app/**/server, /app/a/b/server2, false",
      "a.b, a.b, true",
      "a.b, axb, false",
      "a+(b), a+(b), true",
      "'\\\\Q', '\\Q', true",
      "'app[!]', 'app[!]', true",
      "server-[0-9], server-7, true",
      "server-[0-9], server-x, false",
      "server-[0-9], server-10, false",
      "app[!-_], appx, true",
      "app[!-_], app-, false",
      "app[^a-c], appd, true",
      "app[^a-c], appb, false",
      "[]x]y, ]y, true",
      "[]x]y, xy, true",
      "[!]]y, ]y, false",
      "'a[/]b', 'a/b', false",
      "'a[!x]b', 'a/b', false",
      "'[.+(]', '+', true",
      "'[.+(]', 'a', false",
      "'[\\]]', ']', true",
      "'[a\\-z]', '-', true",
      "'[a\\-z]', 'b', false",
      "app[, app[, true",
      "'app\\*', 'app*', true",
      "'app\\*', 'appx', false",
      "'\\[x]', '[x]', true",
      "[[:alpha:]], a, false",
  })
  void matches(String glob, String text, boolean expected) {
    assertEquals(expected, Glob.compile(glob).matches(text), glob + " vs " + text);
  }

  @ParameterizedTest
  @CsvSource({
      "'app[z-a]', reversed range z-a",
      "'app\\', lone backslash",
  })
  void malformedGlobsAreRejectedByName(String glob, String reason) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Glob.compile(glob));
    assertTrue(e.getMessage().contains(glob), e.getMessage());
    if (reason != null) {
      assertTrue(e.getMessage().contains(reason), e.getMessage());
    }
  }
}
