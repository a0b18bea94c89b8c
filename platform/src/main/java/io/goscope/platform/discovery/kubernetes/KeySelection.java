package io.goscope.platform.discovery.kubernetes;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which label or annotation keys to copy into resource attributes: none, an explicit set, or all ({@code *}).
 *
 * @param all every key is selected
 * @param keys the selected keys when {@code all} is false
 */
public record KeySelection(boolean all, Set<String> keys) {

  /** Selects nothing. */
  public static final KeySelection NONE = new KeySelection(false, Set.of());

  /** Selects every key. */
  public static final KeySelection ALL = new KeySelection(true, Set.of());

  public KeySelection {
    keys = Set.copyOf(keys);
  }

  /** Parses a configuration list such as {@code app,team} or {@code *}; blank entries are ignored. */
  public static KeySelection parse(List<String> entries) {
    Set<String> keys = entries.stream().map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
    if (keys.contains("*")) {
      return ALL;
    }
    return keys.isEmpty() ? NONE : new KeySelection(false, keys);
  }

  /** Whether {@code key} is selected. */
  public boolean includes(String key) {
    return all || keys.contains(key);
  }

  /** Whether nothing at all is selected. */
  public boolean isEmpty() {
    return !all && keys.isEmpty();
  }
}
