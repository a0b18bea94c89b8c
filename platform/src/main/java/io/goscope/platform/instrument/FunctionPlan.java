package io.goscope.platform.instrument;

import io.goscope.api.FunctionProbe;
import io.goscope.api.Nullable;
import java.util.List;

/**
 * The decision for one hooked function in one binary: where its uprobes go, or why it is skipped.
 *
 * @param probe the probe as the probe set declared it
 * @param symbol the name the function was found under (one of {@link FunctionProbe#symbols()}); the first name
 *     when not found
 * @param skipReason why it will not attach, or null when it will
 * @param address the function's entry (link-time virtual address), 0 when not found
 * @param entryFileOffset file offset of the entry, -1 when not found
 * @param entrySite file offset where the entry uprobe goes: past the function's stack-bound check, so that a call
 *     that grows the stack (and so runs the function's first instructions twice) fires it once ({@link
 *     io.goscope.platform.gobinary.EntrySites}); the entry itself for a function without one; -1 when not found
 * @param returnFileOffsets file offsets of every return instruction
 */
public record FunctionPlan(
    FunctionProbe probe,
    String symbol,
    @Nullable String skipReason,
    long address,
    long entryFileOffset,
    long entrySite,
    List<Long> returnFileOffsets) {
  public FunctionPlan {
    returnFileOffsets = List.copyOf(returnFileOffsets);
  }

  /** A reason starting so means the probe does not apply to this binary (another version): not a failure. */
  static final String NOT_APPLICABLE = "not applicable: ";
  /** A reason starting so means the binary has none of the probe's symbols. */
  static final String SYMBOL_MISSING = "symbol ";

  static FunctionPlan skipped(FunctionProbe probe, String symbol, String reason, long address, long entry,
      List<Long> returns) {
    return new FunctionPlan(probe, symbol, reason, address, entry, entry, returns);
  }

  /** Whether the probe is skipped only because it is written for other versions of its module. */
  public boolean notApplicable() {
    return skipReason != null && skipReason.startsWith(NOT_APPLICABLE);
  }

  /** Whether the probe is skipped because the binary has none of its symbols (it does not link that code). */
  public boolean symbolMissing() {
    return skipReason != null && skipReason.startsWith(SYMBOL_MISSING) && skipReason.endsWith(" not in binary");
  }

  public boolean willAttach() {
    return skipReason == null;
  }

  /** "will attach" or "skipped: reason", as the inspect command prints it. */
  public String verdict() {
    return skipReason == null ? "will attach" : "skipped: " + skipReason;
  }
}
