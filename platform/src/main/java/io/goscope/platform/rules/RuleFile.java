package io.goscope.platform.rules;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The rules parsed from one file.
 *
 * @param name the file name
 * @param includes the {@code rules:} entries, in order
 * @param excludes the {@code exclude:} entries, in order
 */
public record RuleFile(String name, List<Rule> includes, List<Rule> excludes) {
  public RuleFile {
    requireNonNull(name, "name");
    includes = List.copyOf(includes);
    excludes = List.copyOf(excludes);
  }
}
