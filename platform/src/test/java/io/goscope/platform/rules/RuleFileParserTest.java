package io.goscope.platform.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RuleFileParserTest {

  @Test
  void parsesTheDocumentedExample() {
    String yaml = """
        rules:
          - name: checkout
            match:                    # all given conditions are AND-ed
              executable: "checkout*"
              cmdline: "--port=\\\\d+"
              env: {APP_ENV: prod}
              container: "app"
              namespace: "shop"
              pod: "checkout-*"
              labels: {app: checkout}
              annotations: {a: b}
              owner: {kind: Deployment, name: "checkout"}
            options:
              serviceName: checkout
              probes: [nethttp]
              sampling: 0.5
              resourceAttributes: {team: payments}
        exclude:
          - name: no-kube-system
            match: {namespace: kube-system}
        """;
    RuleFile file = RuleFileParser.parse("shop.yaml", yaml);
    assertEquals(1, file.includes().size());
    Rule rule = file.includes().get(0);
    assertEquals("checkout", rule.name());
    assertEquals("shop.yaml:2", rule.origin());
    Match m = rule.match();
    assertEquals(new Match(Glob.compile("checkout*"), null, Pattern.compile("--port=\\d+"), Map.of("APP_ENV", "prod"),
        Glob.compile("app"), Glob.compile("shop"), Glob.compile("checkout-*"), Map.of("app", "checkout"),
        Map.of("a", "b"), Glob.compile("Deployment"), Glob.compile("checkout")), m);
    assertEquals(0.5, rule.options().sampling());
    assertEquals(List.of("no-kube-system"), file.excludes().stream().map(Rule::name).toList());
  }

  @Test
  void aBadEscapeIsAFormatErrorNamingTheFile() {
    RulesFormatException e = assertThrows(RulesFormatException.class,
        () -> RuleFileParser.parse("f.yaml", "rules:\n  - name: \"u40%\\x\"\n    match: {}\n"));
    assertTrue(e.getMessage().startsWith("f.yaml:"), e.getMessage());
    assertTrue(e.getMessage().contains("bad YAML"), e.getMessage());
  }

  @Test
  void emptyFilesHaveNoRules() {
    assertEquals(new RuleFile("e.yaml", List.of(), List.of()), RuleFileParser.parse("e.yaml", ""));
    assertEquals(new RuleFile("e.yaml", List.of(), List.of()), RuleFileParser.parse("e.yaml", "# nothing\n"));
    assertEquals(new RuleFile("e.yaml", List.of(), List.of()), RuleFileParser.parse("e.yaml", "rules:\n"));
  }

  @Test
  void unnamedRulesGetAPositionalName() {
    RuleFile file = RuleFileParser.parse("x.yaml", "rules:\n  - match: {}\n  - match: {}\n");
    assertEquals("x.yaml#rules[1]", file.includes().get(1).name());
  }

  @Test
  void scalarsAreTakenAsWritten() {
    RuleFile file = RuleFileParser.parse("x.yaml", "rules: [{name: 1, match: {env: {DEBUG: yes, N: 010}}}]");
    assertEquals(Map.of("DEBUG", "yes", "N", "010"), file.includes().get(0).match().env());
    assertEquals("1", file.includes().get(0).name());
  }

  static Stream<Arguments> broken() {
    return Stream.of(
        Arguments.of("rules:\n  - name: a\n    match: {exe: x}\n", "f.yaml:3:13: unknown key 'exe' in match"),
        Arguments.of("rule:\n  - name: a\n", "f.yaml:1:1: unknown key 'rule' in the document"),
        Arguments.of("rules:\n  - name: a\n    match: {}\n    option: {}\n", "f.yaml:4:5: unknown key 'option'"),
        Arguments.of("rules:\n  - name: a\n    match: {}\n    options: {sampling: 2}\n",
            "f.yaml:4:25: 'sampling' must be from 0 to 1"),
        Arguments.of("rules:\n  - name: a\n    match: {}\n    options: {sampling: half}\n",
            "f.yaml:4:25: 'sampling' must be a number"),
        Arguments.of("rules:\n  - name: a\n    match: {}\n    options: {probes: nethttp}\n",
            "f.yaml:4:23: 'probes' must be a list"),
        Arguments.of("rules:\n  - name: a\n    match: {cmdline: '(unclosed'}\n",
            "f.yaml:3:22: bad regex in 'cmdline'"),
        Arguments.of("rules:\n  - name: a\n    match: {executable: 'api-[9-0]'}\n",
            "f.yaml:3:25: bad glob in 'executable': glob 'api-[9-0]' has a reversed range 9-0"),
        Arguments.of("rules:\n  - name: a\n    match: {owner: {name: 'x[z-a]'}}\n",
            "f.yaml:3:27: bad glob in 'owner.name'"),
        Arguments.of("rules:\n  - name: a\n    match: {executable: [a, b]}\n",
            "f.yaml:3:25: 'executable' must be a string"),
        Arguments.of("rules:\n  - name: a\n    match: {labels: app}\n", "f.yaml:3:21: labels must be a mapping"),
        Arguments.of("rules:\n  - name: a\n", "f.yaml:2:5: rule has no 'match'"),
        Arguments.of("rules: {name: a}\n", "f.yaml:1:8: 'rules' must be a list"),
        Arguments.of("exclude:\n  - name: a\n    match: {}\n    options: {}\n",
            "f.yaml:4:14: 'options' is not allowed in an exclude rule"),
        Arguments.of("rules:\n  - name: a\n    match: {pod: a, pod: b}\n", "f.yaml:3:21: duplicate key 'pod'"),
        Arguments.of("rules:\n  - name: a\n    match: {owner: {kind: A, uid: x}}\n",
            "f.yaml:3:30: unknown key 'uid' in owner"),
        Arguments.of("rules:\n  - name: a\n    match: {pod: 'x}\n", "f.yaml:4:1: bad YAML"),
        Arguments.of("rules:\n  - name: a\n   match: {}\n", "f.yaml:3:"),
        Arguments.of("- a\n- b\n", "f.yaml:1:1: the document must be a mapping"),
        Arguments.of("rules: !!javax.script.ScriptEngineManager [x]\n", "f.yaml:1:8: bad YAML: Global tag is not allowed"));
  }

  @ParameterizedTest
  @MethodSource("broken")
  void reportsFileLineColumn(String yaml, String expectedPrefix) {
    RulesFormatException e = assertThrows(RulesFormatException.class, () -> RuleFileParser.parse("f.yaml", yaml));
    assertTrue(e.getMessage().startsWith(expectedPrefix), e.getMessage());
    assertEquals("f.yaml", e.file());
  }
}
