package io.goscope.platform.gobinary.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/** Small whole-file inputs: junk, ELF headers with extreme fields, 32-bit and big-endian ELF, truncated headers. */
final class RawElfInputs {
  private static final long[] EXTREMES = {0, 1, -1, 64, 0x7fff_ffff_ffffL, 1L << 62, Long.MAX_VALUE, 4096};

  private RawElfInputs() {}

  static byte[] random(Random rnd) {
    int kind = rnd.nextInt(5);
    if (kind == 0) {
      byte[] junk = new byte[rnd.nextInt(256)];
      rnd.nextBytes(junk);
      return junk;
    }
    int size = kind == 1 ? rnd.nextInt(64) : 64 + rnd.nextInt(4096);
    ByteBuffer b = ByteBuffer.allocate(Math.max(size, 4)).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, 0x464c457f);
    if (b.capacity() >= 64) {
      b.put(4, (byte) (rnd.nextInt(8) == 0 ? 1 : 2));
      b.put(5, (byte) (rnd.nextInt(8) == 0 ? 2 : 1));
      b.putShort(16, (short) (2 + rnd.nextInt(2)));
      b.putShort(18, (short) (rnd.nextBoolean() ? 62 : 183));
      b.putLong(32, rnd.nextBoolean() ? 64 : EXTREMES[rnd.nextInt(EXTREMES.length)]); // phoff
      b.putLong(40, rnd.nextBoolean() ? 64 + 56L * 4 : EXTREMES[rnd.nextInt(EXTREMES.length)]); // shoff
      b.putShort(54, (short) (rnd.nextBoolean() ? 56 : rnd.nextInt()));
      b.putShort(56, (short) rnd.nextInt(kind == 4 ? 0x10000 : 6));
      b.putShort(58, (short) (rnd.nextBoolean() ? 64 : rnd.nextInt()));
      b.putShort(60, (short) rnd.nextInt(kind == 4 ? 0x10000 : 6));
      b.putShort(62, (short) rnd.nextInt(6));
      for (int o = 64; o + 8 <= b.capacity(); o += 8) {
        long v = rnd.nextInt(3) == 0 ? EXTREMES[rnd.nextInt(EXTREMES.length)] : rnd.nextInt(512);
        b.putLong(o, v);
      }
    }
    return b.array();
  }
}
