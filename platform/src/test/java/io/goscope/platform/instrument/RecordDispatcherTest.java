package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.ProbeSpan;
import io.goscope.api.RecordDecoder;
import io.goscope.api.RecordFormatException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecordDispatcherTest {

  static ProbeSet probeSet(String id, RecordDecoder decoder) {
    ProbeSetDescriptor d = ProbeSetDescriptor.builder(id).bpfObject("x.o")
        .probe(new FunctionProbe("main.f", "entry", null, List.of(), FailureMode.WARN)).build();
    return new ProbeSet() {
      @Override
      public ProbeSetDescriptor descriptor() {
        return d;
      }

      @Override
      public RecordDecoder decoder() {
        return decoder;
      }

      @Override
      public InputStream openResource(String name) {
        return new ByteArrayInputStream(new byte[] {0x7f, 'E', 'L', 'F'});
      }
    };
  }

  static ByteBuffer record(int source, int type, int pid, int payloadBytes) {
    ByteBuffer b = ByteBuffer.allocate(8 + payloadBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putShort((short) source).putShort((short) type).putInt(pid);
    b.position(0);
    return b;
  }

  @Test
  void routesBySourceAndPidAndCountsEverythingElse() throws Exception {
    List<String> seen = new ArrayList<>();
    RecordDecoder a = (rec, h, sink) -> sink.span(ProbeSpan.builder("a" + h.type(), "test").build());
    RecordDecoder b = (rec, h, sink) -> {
      if (h.type() == 9) {
        throw new RecordFormatException("bad type 9");
      }
      sink.span(ProbeSpan.builder("b" + h.type(), "test").build());
    };
    RecordDispatcher d = new RecordDispatcher(List.of(
        ProbeSetRuntime.decoderOnly(1, probeSet("a", a)), ProbeSetRuntime.decoderOnly(2, probeSet("b", b))));
    d.register(100, s -> seen.add("100:" + s.name()));
    d.register(200, s -> seen.add("200:" + s.name()));
    List<String> host = new ArrayList<>();
    d.setHostHandler(1, (rec, h) -> host.add(h.type() + "@" + h.pid()));

    d.onRecord(record(1, 1, 100, 8));
    d.onRecord(record(2, 3, 200, 8));
    d.onRecord(record(2, 9, 200, 8)); // decoder rejects
    d.onRecord(record(7, 1, 100, 8)); // no such source
    d.onRecord(record(1, 1, 300, 8)); // pid not registered
    d.onRecord(record(0, 1, 555, 8)); // host record (process exec)
    d.onRecord(ByteBuffer.allocate(3)); // shorter than a header

    assertEquals(List.of("100:a1", "200:b3"), seen);
    assertEquals(List.of("1@555"), host);
    assertEquals(2, d.dispatched());
    assertEquals(2, d.malformed());
    assertEquals(1, d.unknownSource());
    assertEquals(1, d.unknownProcess());

    d.unregister(100);
    d.onRecord(record(1, 1, 100, 8));
    assertEquals(2, d.unknownProcess());
  }
}
