package io.goscope.platform.gobinary;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A Go function in a binary: {@code [entry, end)} in link-time virtual addresses, the file offset of its entry (what
 * a uprobe attaches at) and, once computed by {@link ReturnSites}, the file offsets of each return instruction.
 */
public record GoFunction(String name, long entry, long end, long entryFileOffset, List<Long> returnFileOffsets) {
  public GoFunction {
    requireNonNull(name, "name");
    returnFileOffsets = List.copyOf(returnFileOffsets);
    if (end < entry) {
      throw new IllegalArgumentException("function " + name + ": end before entry");
    }
  }

  /** Size in bytes. */
  public long size() {
    return end - entry;
  }

  /** This function with its return sites set. */
  public GoFunction withReturnFileOffsets(List<Long> offsets) {
    return new GoFunction(name, entry, end, entryFileOffset, offsets);
  }

  @Override
  public String toString() {
    return String.format("%s[0x%x-0x%x, file 0x%x, %d return(s)]", name, entry, end, entryFileOffset,
        returnFileOffsets.size());
  }
}
