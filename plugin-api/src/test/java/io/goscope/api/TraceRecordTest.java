package io.goscope.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TraceRecordTest {
  @Test
  void hexIsLowerCaseAndMatchesTheJdksForEveryByte() {
    ByteBuffer b = ByteBuffer.allocate(256 + 3).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < 256; i++) {
      b.put(3 + i, (byte) i);
    }
    byte[] all = new byte[256];
    b.get(3, all);
    assertEquals(HexFormat.of().formatHex(all), TraceRecord.hex(b, 3, 256));
    Random random = new Random(7);
    for (int n = 0; n < 100; n++) {
      byte[] id = new byte[16];
      random.nextBytes(id);
      assertEquals(HexFormat.of().formatHex(id), TraceRecord.hex(ByteBuffer.wrap(id), 0, 16));
    }
  }
}
