package io.goscope.platform.rules;

import io.goscope.api.Nullable;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@value #ENV} variable: a comma-separated list of executable names (globs allowed), each an include rule on
 * the executable's file name with default options. These rules come after the rules from files, so a file rule
 * matching the same process supplies its options.
 */
public final class GoApps {
  private static final Logger log = LoggerFactory.getLogger(GoApps.class);

  /** The variable's name. */
  public static final String ENV = "GO_APPS";

  private GoApps() {}

  /**
   * The include rules for a {@code GO_APPS} value; none for null or blank. Duplicates are dropped; a malformed
   * glob is logged and skipped, so the other names still apply.
   */
  public static List<Rule> rules(@Nullable String value) {
    if (value == null || value.isBlank()) {
      return List.of();
    }
    Set<String> names = new LinkedHashSet<>();
    for (String part : value.split(",")) {
      String name = part.trim();
      if (!name.isEmpty()) {
        names.add(name);
      }
    }
    List<Rule> rules = new ArrayList<>(names.size());
    for (String name : names) {
      try {
        rules.add(new Rule(ENV + ":" + name, Match.executableName(name), RuleOptions.DEFAULT, "env " + ENV));
      } catch (IllegalArgumentException e) {
        log.warn("ignoring {} entry entry={} reason=\"{}\"", ENV, name, e.getMessage());
      }
    }
    return List.copyOf(rules);
  }
}
