package io.goscope.platform.admin;

import java.util.List;
import java.util.Locale;

/**
 * Turns an instrumentation failure text ({@code "<set>: <reason>"} or {@code "<set> <symbol>: <reason>"}) into a
 * probe set id and a reason from a small fixed set, for the {@code reason} label of
 * {@link SelfMetrics#PROBES_SKIPPED}: free text would make every message its own series.
 */
public final class ProbeSkipReason {
  private ProbeSkipReason() {}

  /** {@code [probe set, reason]}. */
  public static List<String> classify(String failure) {
    int colon = failure.indexOf(':');
    String head = colon < 0 ? failure : failure.substring(0, colon);
    int space = head.indexOf(' ');
    String set = (space < 0 ? head : head.substring(0, space)).strip();
    String msg = (colon < 0 ? failure : failure.substring(colon + 1)).toLowerCase(Locale.ROOT);
    String reason;
    if (msg.contains("eperm") || msg.contains("eacces") || msg.contains("permission")) {
      reason = "permission";
    } else if (msg.contains("symbol") || msg.contains("function") && msg.contains("not found")) {
      reason = "symbol_missing";
    } else if (msg.contains("field") || msg.contains("offset")) {
      reason = "field_unresolved";
    } else if (msg.contains("version")) {
      reason = "version_unsupported";
    } else if (msg.contains("verifier") || msg.contains("load")) {
      reason = "load_failed";
    } else if (msg.contains("attach") || msg.contains("uprobe")) {
      reason = "attach_failed";
    } else {
      reason = "other";
    }
    return List.of(set.isEmpty() ? "unknown" : set, reason);
  }
}
