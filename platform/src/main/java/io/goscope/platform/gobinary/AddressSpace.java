package io.goscope.platform.gobinary;

import java.nio.ByteBuffer;

/**
 * A binary's loadable contents, addressed by link-time virtual address (what pointers inside the file hold).
 * Backed by the PT_LOAD segments of the file; bytes past a segment's file size read as zero.
 */
public interface AddressSpace {

  /**
   * Returns {@code length} bytes at {@code vaddr}, little-endian, positioned at 0.
   *
   * @throws GoBinaryFormatException if the range is not inside one loadable segment or is implausibly large
   */
  ByteBuffer read(long vaddr, int length);

  /** Whether {@code [vaddr, vaddr+length)} lies inside one loadable segment. */
  boolean contains(long vaddr, long length);
}
