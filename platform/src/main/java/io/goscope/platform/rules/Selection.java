package io.goscope.platform.rules;

import static java.util.Objects.requireNonNull;

/**
 * A process chosen for instrumentation: the include rule that chose it and that rule's options.
 *
 * @param ruleName the first matching include rule
 * @param options its options
 */
public record Selection(String ruleName, RuleOptions options) {
  public Selection {
    requireNonNull(ruleName, "ruleName");
    requireNonNull(options, "options");
  }
}
