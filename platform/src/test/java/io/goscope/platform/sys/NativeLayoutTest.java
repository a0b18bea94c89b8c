package io.goscope.platform.sys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Struct layouts and pure helpers; no kernel needed. */
class NativeLayoutTest {
  @Test
  void uprobeOptsIs40BytesWithCookieAt16AndNoRetprobe() {
    byte[] b = BpfObject.uprobeOpts(0x1122334455667788L);
    assertEquals(40, b.length);
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.nativeOrder());
    assertEquals(40, bb.getLong(0), "sz");
    assertEquals(0, bb.getLong(8), "ref_ctr_offset");
    assertEquals(0x1122334455667788L, bb.getLong(16), "bpf_cookie");
    assertEquals(0, bb.get(24), "retprobe");
    assertEquals(0, bb.getLong(32), "func_name");
    byte[] expectedLe = {
      40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0
    };
    if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      assertArrayEquals(expectedLe, BpfObject.uprobeOpts(1));
    }
  }

  @Test
  void kernelMapNamesAreTruncatedAndSanitised() {
    assertEquals("goscope_events", BpfMap.kernelName("goscope_events"));
    assertEquals("a_very_long_nam", BpfMap.kernelName("a_very_long_name_indeed"));
    assertEquals("ring_1.x", BpfMap.kernelName("ring-1.x"));
  }

  @Test
  void libbpfWarningsAreErrorsOnlyWhenTheySaySo() {
    assertTrue(Libbpf.isError("libbpf: prog 'x': failed to attach: Invalid argument\n"));
    assertFalse(Libbpf.isError("libbpf: map 'goscope_events': found type = 27.\n"));
    assertFalse(Libbpf.isError("libbpf: prog 'x': -- BEGIN PROG LOAD LOG --\ninvalid mem access\n"));
  }

  @Test
  void ringBufferHeaderFlags() {
    assertEquals(0x80000000, RingBufferReader.BUSY_BIT);
    assertEquals(0x40000000, RingBufferReader.DISCARD_BIT);
  }
}
