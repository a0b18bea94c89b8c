package io.goscope.platform.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
      "'\\Q', '\\Q', true",
  })
  void matches(String glob, String text, boolean expected) {
    assertEquals(expected, Glob.compile(glob).matches(text), glob + " vs " + text);
  }
}
