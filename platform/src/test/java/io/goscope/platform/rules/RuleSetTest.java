package io.goscope.platform.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import io.opentelemetry.api.common.Attributes;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RuleSetTest {
  static final ProcessInfo CHECKOUT = new ProcessInfo(100, List.of(100, 1), "/app/bin/checkout-api",
      List.of("/app/bin/checkout-api", "--port=8080", "-v"), Map.of("APP_ENV", "prod", "HOME", "/root"), 5,
      "c0ffee", "uid-1");
  static final Optional<WorkloadMetadata> SHOP = Optional.of(new WorkloadMetadata("shop", "checkout-7d9f-abc",
      "app", Map.of("app", "checkout", "tier", "web"), Map.of("goscope.io/trace", "true"), "Deployment",
      "checkout", Attributes.empty()));
  static final RuleDefaults NO_SELF = new RuleDefaults(p -> false, true);

  private static Optional<Selection> select(String yaml, ProcessInfo p, Optional<WorkloadMetadata> w) {
    RuleFile file = RuleFileParser.parse("t.yaml", yaml);
    return new RuleSet(file.includes(), file.excludes(), NO_SELF).select(p, w);
  }

  static Stream<Arguments> conditions() {
    return Stream.of(
        Arguments.of("executable: 'checkout*'", true),
        Arguments.of("executable: 'payments*'", false),
        Arguments.of("executable: checkout-api", true),
        Arguments.of("executablePath: '/app/**'", true),
        Arguments.of("executablePath: '/usr/**'", false),
        Arguments.of("cmdline: '--port=\\d+'", true),
        Arguments.of("cmdline: '--port=\\d{5}'", false),
        Arguments.of("cmdline: 'checkout-api --port'", true),
        Arguments.of("env: {APP_ENV: prod}", true),
        Arguments.of("env: {APP_ENV: dev}", false),
        Arguments.of("env: {APP_ENV: '*'}", true),
        Arguments.of("env: {MISSING: '*'}", false),
        Arguments.of("container: app", true),
        Arguments.of("container: sidecar", false),
        Arguments.of("namespace: 'sh*'", true),
        Arguments.of("namespace: default", false),
        Arguments.of("pod: 'checkout-*'", true),
        Arguments.of("pod: 'payments-*'", false),
        Arguments.of("labels: {app: checkout}", true),
        Arguments.of("labels: {app: checkout, tier: '*'}", true),
        Arguments.of("labels: {app: payments}", false),
        Arguments.of("labels: {missing: '*'}", false),
        Arguments.of("annotations: {goscope.io/trace: 'true'}", true),
        Arguments.of("annotations: {goscope.io/trace: 'false'}", false),
        Arguments.of("owner: {kind: Deployment, name: 'check*'}", true),
        Arguments.of("owner: {kind: StatefulSet}", false),
        Arguments.of("owner: {name: payments}", false),
        // AND semantics
        Arguments.of("{executable: 'checkout*', namespace: shop, labels: {app: checkout}}", true),
        Arguments.of("{executable: 'checkout*', namespace: default}", false),
        Arguments.of("{executable: 'payments', namespace: shop}", false),
        Arguments.of("{}", true));
  }

  @ParameterizedTest
  @MethodSource("conditions")
  void eachCondition(String match, boolean selected) {
    String yaml = "rules:\n  - name: r\n    match: " + (match.startsWith("{") ? match : "{" + match + "}") + "\n";
    assertEquals(selected, select(yaml, CHECKOUT, SHOP).isPresent(), match);
  }

  @Test
  void workloadConditionsNeedMetadata() {
    assertFalse(select("rules: [{name: r, match: {namespace: '*'}}]", CHECKOUT, Optional.empty()).isPresent());
    assertTrue(select("rules: [{name: r, match: {executable: '*'}}]", CHECKOUT, Optional.empty()).isPresent());
  }

  @Test
  void firstMatchingIncludeSuppliesOptions() {
    String yaml = """
        rules:
          - name: other
            match: {executable: payments}
            options: {serviceName: payments}
          - name: checkout
            match: {executable: 'checkout*'}
            options:
              serviceName: checkout
              probes: [nethttp]
              sampling: 0.5
              resourceAttributes: {team: payments}
          - name: catch-all
            match: {}
        """;
    Selection s = select(yaml, CHECKOUT, SHOP).orElseThrow();
    assertEquals("checkout", s.ruleName());
    assertEquals(new RuleOptions("checkout", Set.of("nethttp"), 0.5, Map.of("team", "payments")), s.options());
    assertTrue(s.options().probeEnabled("nethttp"));
    assertFalse(s.options().probeEnabled("grpc"));
    assertTrue(RuleOptions.DEFAULT.probeEnabled("grpc"));
  }

  @Test
  void excludeWinsOverInclude() {
    String yaml = """
        rules:
          - name: all
            match: {}
        exclude:
          - name: no-web
            match: {labels: {tier: web}}
        """;
    assertFalse(select(yaml, CHECKOUT, SHOP).isPresent());
    RuleFile file = RuleFileParser.parse("t.yaml", yaml);
    assertEquals("no-web", new RuleSet(file.includes(), file.excludes(), NO_SELF).explain(CHECKOUT, SHOP)
        .ruleName());
  }

  @Test
  void noIncludeRuleSelectsNothing() {
    assertFalse(RuleSet.empty(NO_SELF).select(CHECKOUT, SHOP).isPresent());
    assertFalse(select("exclude: [{name: x, match: {pod: nothing}}]", CHECKOUT, SHOP).isPresent());
  }

  @Test
  void defaultsExcludeSelfAndKubeSystem() {
    List<Rule> all = List.of(new Rule("all", Match.ANY, RuleOptions.DEFAULT, "test"));
    Optional<WorkloadMetadata> kubeSystem = Optional.of(new WorkloadMetadata("kube-system", "coredns-1", "coredns",
        Map.of(), Map.of(), "Deployment", "coredns", Attributes.empty()));

    RuleSet rules = new RuleSet(all, List.of(), RuleDefaults.fromEnv(Map.of(), p -> p.pid() == 100));
    assertEquals(RuleDefaults.SELF_RULE, rules.explain(CHECKOUT, SHOP).ruleName());
    assertFalse(rules.select(CHECKOUT, SHOP).isPresent());

    RuleSet notSelf = new RuleSet(all, List.of(), RuleDefaults.fromEnv(Map.of(), p -> false));
    assertTrue(notSelf.select(CHECKOUT, SHOP).isPresent());
    assertEquals(RuleDefaults.KUBE_SYSTEM_RULE, notSelf.explain(CHECKOUT, kubeSystem).ruleName());
    assertTrue(notSelf.select(CHECKOUT, Optional.empty()).isPresent());

    RuleSet kubeSystemAllowed = new RuleSet(all, List.of(),
        RuleDefaults.fromEnv(Map.of(RuleDefaults.EXCLUDE_KUBE_SYSTEM_ENV, "false"), p -> false));
    assertTrue(kubeSystemAllowed.select(CHECKOUT, kubeSystem).isPresent());
  }

  @Test
  void goApps() {
    List<Rule> rules = GoApps.rules(" checkout-api, server ,,payments*,server");
    assertEquals(List.of("GO_APPS:checkout-api", "GO_APPS:server", "GO_APPS:payments*"),
        rules.stream().map(Rule::name).toList());
    RuleSet set = new RuleSet(rules, List.of(), NO_SELF);
    assertEquals("GO_APPS:checkout-api", set.select(CHECKOUT, Optional.empty()).orElseThrow().ruleName());
    ProcessInfo payments = new ProcessInfo(7, List.of(7), "/bin/payments-v2", List.of(), Map.of(), 1, null, null);
    assertTrue(set.select(payments, Optional.empty()).isPresent());
    ProcessInfo other = new ProcessInfo(8, List.of(8), "/bin/nginx", List.of(), Map.of(), 1, null, null);
    assertFalse(set.select(other, Optional.empty()).isPresent());
    assertEquals(List.of(), GoApps.rules(null));
    assertEquals(List.of(), GoApps.rules(" "));
    assertEquals(List.of("GO_APPS:api-[0-9]"),
        GoApps.rules("api-[9-0], api-[0-9]").stream().map(Rule::name).toList(), "a malformed glob is skipped");
  }

  @Test
  void deletedExecutableStillMatchesPath() {
    ProcessInfo deleted = new ProcessInfo(9, List.of(9), "/app/server (deleted)", List.of(), Map.of(), 1, null,
        null);
    assertTrue(select("rules: [{name: r, match: {executablePath: /app/server, executable: server}}]", deleted,
        Optional.empty()).isPresent());
  }
}
