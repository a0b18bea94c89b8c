package io.goscope.platform.gobinary.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Byte edits inside one region of a seed, decoded from a small "program" so that a fuzzer mutating the program makes
 * structure-aware changes to a multi-megabyte binary: bit flips, bytes, 16/32/64-bit fields set to boundary values
 * (0, -1, 2^31, 2^62, the region or file size), splices and truncation. The same programs come from a seeded
 * {@link Random} in the bounded in-suite run.
 */
final class Mutation {
  private static final int MAX_OPS = 48;
  private static final long[] INTERESTING_64 = {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 62, 1L << 40,
      Integer.MAX_VALUE, 0x8000_0000L, 0xffff_ffffL, 0x7fff_ffff_ffffL, 24, 64};
  private static final int[] INTERESTING_32 = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0xfffffff0,
      0xfffffff1, 0xfffffffa, 0xfffffffb, 0x464c457f, 0xffff, 0x10000};
  private static final short[] INTERESTING_16 = {0, 1, -1, 0x7fff, (short) 0x8000, 56, 64, (short) 0xffff, 2, 3};

  /** One edit: {@code bytes} written (or XORed in, for bit flips) at absolute {@code offset}. */
  record Edit(long offset, byte[] bytes, boolean xor) {
    Edit(long offset, byte[] bytes) {
      this(offset, bytes, false);
    }

    byte[] resolve(byte[] base) {
      if (!xor) {
        return bytes;
      }
      byte[] out = new byte[bytes.length];
      for (int k = 0; k < out.length; k++) {
        out[k] = (byte) (base[(int) offset + k] ^ bytes[k]);
      }
      return out;
    }
  }

  final List<Edit> edits;
  /** New file length, or -1 to keep it. */
  final long truncateTo;

  private Mutation(List<Edit> edits, long truncateTo) {
    this.edits = edits;
    this.truncateTo = truncateTo;
  }

  /** Decodes {@code program} into edits inside {@code [lo, hi)} of a seed of {@code length} bytes. */
  static Mutation decode(byte[] program, long lo, long hi, long length, boolean allowTruncate) {
    Reader in = new Reader(program);
    long span = Math.max(1, hi - lo);
    List<Edit> edits = new ArrayList<>();
    long truncate = -1;
    for (int op = 0; op < MAX_OPS && in.more(); op++) {
      int kind = in.u8() % 9;
      long at = lo + Long.remainderUnsigned(in.u32() & 0xffffffffL, span);
      switch (kind) {
        case 0 -> edits.add(new Edit(at, new byte[] {(byte) (1 << (in.u8() & 7))}, true));
        case 1 -> edits.add(new Edit(at, new byte[] {(byte) in.u8()}));
        case 2 -> edits.add(new Edit(at, le(INTERESTING_16[in.u8() % INTERESTING_16.length], 2)));
        case 3 -> {
          int i = in.u8();
          int v = i % (INTERESTING_32.length + 1) == INTERESTING_32.length ? (int) length
              : INTERESTING_32[i % (INTERESTING_32.length + 1)];
          edits.add(new Edit(at, le(v, 4)));
        }
        case 4, 5 -> {
          int i = in.u8() % (INTERESTING_64.length + 3);
          long v = i < INTERESTING_64.length ? INTERESTING_64[i] : i == INTERESTING_64.length ? length
              : i == INTERESTING_64.length + 1 ? span : hi;
          long aligned = kind == 5 ? lo + ((at - lo) & ~7L) : at;
          edits.add(new Edit(aligned, le(v, 8)));
        }
        case 6 -> edits.add(new Edit(at, le(in.u64(), 8)));
        case 7 -> {
          int n = 1 + in.u8() % 64;
          byte[] b = new byte[n];
          for (int k = 0; k < n; k++) {
            b[k] = (byte) in.u8();
          }
          edits.add(new Edit(at, b));
        }
        default -> {
          if (allowTruncate && truncate < 0) {
            truncate = at;
          } else {
            edits.add(new Edit(at, new byte[] {0}));
          }
        }
      }
    }
    List<Edit> clipped = new ArrayList<>();
    long end = truncate >= 0 ? truncate : length;
    for (Edit e : edits) {
      long n = Math.min(e.bytes().length, end - e.offset());
      if (n > 0) {
        clipped.add(n == e.bytes().length ? e
            : new Edit(e.offset(), java.util.Arrays.copyOf(e.bytes(), (int) n), e.xor()));
      }
    }
    return new Mutation(clipped, truncate);
  }

  /** A random program of 1..12 operations, truncation in about one in twenty. */
  static byte[] randomProgram(Random r) {
    int ops = 1 + r.nextInt(12);
    ByteBuffer b = ByteBuffer.allocate(ops * 80).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < ops; i++) {
      int kind = r.nextInt(20) == 0 ? 8 : r.nextInt(8);
      b.put((byte) kind);
      b.putInt(r.nextInt());
      switch (kind) {
        case 6 -> b.putLong(r.nextLong());
        case 7 -> {
          int n = r.nextInt(64);
          b.put((byte) n);
          for (int k = 0; k <= n; k++) {
            b.put((byte) r.nextInt());
          }
        }
        case 8 -> { }
        default -> b.put((byte) r.nextInt());
      }
    }
    byte[] out = new byte[b.position()];
    b.flip().get(out);
    return out;
  }

  /** A copy of {@code base} with the edits applied (and truncated when asked). */
  byte[] applyTo(byte[] base) {
    byte[] out = truncateTo >= 0 ? java.util.Arrays.copyOf(base, (int) truncateTo) : base.clone();
    for (Edit e : edits) {
      System.arraycopy(e.resolve(base), 0, out, (int) e.offset(), e.bytes().length);
    }
    return out;
  }

  /**
   * Applies the edits to a file holding {@code base} in place; the returned handle restores it. Cheaper than
   * rewriting a multi-megabyte file per input.
   */
  Runnable applyInPlace(FileChannel ch, byte[] base) {
    try {
      if (truncateTo >= 0) {
        ch.truncate(truncateTo);
      }
      for (Edit e : edits) {
        ch.write(ByteBuffer.wrap(e.resolve(base)), e.offset());
      }
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
    return () -> {
      try {
        for (Edit e : edits) {
          ch.write(ByteBuffer.wrap(base, (int) e.offset(), e.bytes().length), e.offset());
        }
        if (truncateTo >= 0) {
          ch.write(ByteBuffer.wrap(base, (int) truncateTo, base.length - (int) truncateTo), truncateTo);
        }
      } catch (IOException ex) {
        throw new UncheckedIOException(ex);
      }
    };
  }

  private static byte[] le(long v, int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (v >>> (8 * i));
    }
    return b;
  }

  /** Reads program bytes; zero once exhausted. */
  private static final class Reader {
    private final byte[] p;
    private int pos;

    Reader(byte[] p) {
      this.p = p;
    }

    boolean more() {
      return pos < p.length;
    }

    int u8() {
      return pos < p.length ? p[pos++] & 0xff : 0;
    }

    long u32() {
      long v = 0;
      for (int i = 0; i < 4; i++) {
        v |= (long) u8() << (8 * i);
      }
      return v;
    }

    long u64() {
      return u32() | (u32() << 32);
    }
  }
}
