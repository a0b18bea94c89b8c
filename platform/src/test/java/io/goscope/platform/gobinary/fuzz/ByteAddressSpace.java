package io.goscope.platform.gobinary.fuzz;

import io.goscope.platform.gobinary.AddressSpace;
import io.goscope.platform.gobinary.GoBinaryFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** An {@link AddressSpace} over one byte array placed at {@code base}: a loadable segment held in memory. */
final class ByteAddressSpace implements AddressSpace {
  private final long base;
  private final byte[] bytes;

  ByteAddressSpace(long base, byte[] bytes) {
    this.base = base;
    this.bytes = bytes;
  }

  @Override
  public ByteBuffer read(long vaddr, int length) {
    if (length < 0 || !contains(vaddr, length)) {
      throw new GoBinaryFormatException("fuzz-image", String.format("read [0x%x, +%d) outside the image", vaddr,
          length));
    }
    return ByteBuffer.wrap(bytes, (int) (vaddr - base), length).slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public boolean contains(long vaddr, long length) {
    return length >= 0 && vaddr >= base && vaddr - base <= bytes.length && length <= bytes.length - (vaddr - base);
  }
}
