package io.goscope.platform.gobinary;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Return instructions in AArch64 code: fixed 4-byte little-endian words; {@code RET Xn} is
 * {@code 1101011 0 0 10 11111 000000 nnnnn 00000} ({@code 0xd65f0000 | n << 5}); plain {@code ret} is
 * {@code 0xd65f03c0}. Pointer-authenticated RETAA/RETAB ({@code 0xd65f0bff}, {@code 0xd65f0fff}) are counted too.
 */
public final class Arm64Returns implements InstructionDecoder {
  private static final int RET_MASK = 0xfffffc1f;
  private static final int RET_BITS = 0xd65f0000;
  private static final int RETAA = 0xd65f0bff;
  private static final int RETAB = 0xd65f0fff;

  @Override
  public List<Long> returnOffsets(ByteBuffer code, long vaddr) {
    ByteBuffer b = code.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    List<Long> out = new ArrayList<>();
    int n = b.capacity() & ~3;
    for (int off = 0; off < n; off += 4) {
      int insn = b.getInt(off);
      if ((insn & RET_MASK) == RET_BITS || insn == RETAA || insn == RETAB) {
        out.add((long) off);
      }
    }
    return out;
  }
}
