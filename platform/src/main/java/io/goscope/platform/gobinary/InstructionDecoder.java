package io.goscope.platform.gobinary;

import java.nio.ByteBuffer;
import java.util.List;

/** Finds return instructions in machine code by decoding it, instruction by instruction, for one architecture. */
public interface InstructionDecoder {

  /**
   * Returns the byte offsets, relative to the start of {@code code}, of every return instruction in it.
   *
   * @param code the function's bytes, from position 0 to capacity
   * @param vaddr the link-time address of the first byte (used for diagnostics and PC-relative decoding)
   */
  List<Long> returnOffsets(ByteBuffer code, long vaddr);
}
