package io.goscope.platform.instrument;

import io.goscope.api.FunctionProbe;
import io.goscope.api.Nullable;
import java.util.List;

/**
 * The decision for one hooked function in one binary: where its uprobes go, or why it is skipped.
 *
 * @param probe the probe as the probe set declared it
 * @param skipReason why it will not attach, or null when it will
 * @param address the function's entry (link-time virtual address), 0 when not found
 * @param entryFileOffset file offset of the entry, -1 when not found
 * @param returnFileOffsets file offsets of every return instruction
 */
public record FunctionPlan(
    FunctionProbe probe,
    @Nullable String skipReason,
    long address,
    long entryFileOffset,
    List<Long> returnFileOffsets) {
  public FunctionPlan {
    returnFileOffsets = List.copyOf(returnFileOffsets);
  }

  static FunctionPlan skipped(FunctionProbe probe, String reason, long address, long entry, List<Long> returns) {
    return new FunctionPlan(probe, reason, address, entry, returns);
  }

  public boolean willAttach() {
    return skipReason == null;
  }

  /** "will attach" or "skipped: reason", as the inspect command prints it. */
  public String verdict() {
    return skipReason == null ? "will attach" : "skipped: " + skipReason;
  }
}
