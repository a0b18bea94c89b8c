package io.goscope.platform.rules;

import static java.util.Objects.requireNonNull;

/**
 * One include or exclude rule.
 *
 * @param name the rule's name, reported in {@link Selection} and logs
 * @param match its conditions
 * @param options what it sets when it selects a process ({@link RuleOptions#DEFAULT} for exclude rules)
 * @param origin where it was defined, {@code file:line} or {@code env GO_APPS}
 */
public record Rule(String name, Match match, RuleOptions options, String origin) {
  public Rule {
    requireNonNull(name, "name");
    requireNonNull(match, "match");
    requireNonNull(options, "options");
    requireNonNull(origin, "origin");
  }
}
