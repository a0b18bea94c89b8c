package io.goscope.platform.agent;

import static io.goscope.testing.BpfAssumptions.assumeBpf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.instrument.HostMaps;
import io.goscope.platform.sys.BpfMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Tier 2: the exit tracepoint drops the trace contexts of a traced process that exits (a span it never ended must not
 * become the parent of a later process that gets the same pid), and leaves everyone else's.
 */
class ProcessEventsBpfTest {

  /** struct gs_goroutine: tgid, pad, goid. */
  private static byte[] goroutine(long tgid, long goid) {
    return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt((int) tgid).putInt(0).putLong(goid).array();
  }

  /** A struct gs_span_ctx with a recognisable span id. */
  private static byte[] context(int marker) {
    ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    b.put(0, (byte) 1).putInt(16, marker).put(24, (byte) 1).put(25, (byte) 1);
    return b.array();
  }

  @Test
  void aTracedProcessTakesItsTraceContextsWithItWhenItExits() throws Exception {
    assumeBpf();
    try (HostMaps maps = HostMaps.create(1 << 16, HostMaps.Sizes.DEFAULT);
        ProcessEvents events = ProcessEvents.start(maps, (pid, t) -> { }, (pid, t) -> { })) {
      assertEquals(ProcessEvents.PURGING_EXIT, events.exitProgram(), "kernel 6.18 has bpf_for_each_map_elem");
      Process traced = new ProcessBuilder("sleep", "60").start();
      Process other = new ProcessBuilder("sleep", "60").start();
      try {
        maps.putProcess((int) traced.pid(), HostMaps.ProcessSettings.DEFAULT);
        BpfMap goroutines = maps.map(HostMaps.GOROUTINES);
        BpfMap incoming = maps.map(HostMaps.INCOMING);
        for (long goid : new long[] {1, 7, 4242}) {
          goroutines.update(goroutine(traced.pid(), goid), context((int) goid));
        }
        incoming.update(goroutine(traced.pid(), 9), context(9));
        goroutines.update(goroutine(other.pid(), 1), context(100));
        goroutines.update(goroutine(ProcessHandle.current().pid(), 1), context(101));

        other.destroyForcibly();
        assertTrue(other.waitFor(10, TimeUnit.SECONDS));
        // Not traced: the exit leaves its entry (only the rules' processes pay for the purge).
        assertTrue(goroutines.lookup(goroutine(other.pid(), 1)).isPresent(), "untraced process's entry");

        traced.destroyForcibly();
        assertTrue(traced.waitFor(10, TimeUnit.SECONDS));
        // sched_process_exit runs in the exiting task before its parent can reap it: the purge is done by now.
        for (long goid : new long[] {1, 7, 4242}) {
          assertFalse(goroutines.lookup(goroutine(traced.pid(), goid)).isPresent(), "goroutine " + goid);
        }
        assertFalse(incoming.lookup(goroutine(traced.pid(), 9)).isPresent(), "incoming parent");
        assertTrue(goroutines.lookup(goroutine(ProcessHandle.current().pid(), 1)).isPresent(), "others stay");
      } finally {
        traced.destroyForcibly();
        other.destroyForcibly();
      }
    }
  }
}
