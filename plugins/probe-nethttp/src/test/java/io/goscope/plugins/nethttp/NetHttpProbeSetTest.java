package io.goscope.plugins.nethttp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.StructField;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class NetHttpProbeSetTest {
  private final NetHttpProbeSet set = new NetHttpProbeSet();

  @Test
  void descriptor() {
    ProbeSetDescriptor d = set.descriptor();
    assertSame(d, set.descriptor());
    assertEquals("nethttp", d.id());
    assertEquals("bpf/nethttp.bpf.o", d.bpfObjectResource());
    assertEquals("offsets/nethttp-offsets.yaml", d.offsetTableResource());
    FunctionProbe p = d.probes().get(0);
    assertEquals("net/http.serverHandler.ServeHTTP", p.symbol());
    assertEquals("nethttp_server_entry", p.entryProgram());
    assertEquals("nethttp_server_return", p.returnProgram());
    assertEquals(FailureMode.WARN, p.failureMode());
    assertEquals(
        List.of(
            "off_request_method",
            "off_request_url",
            "off_request_proto",
            "off_request_host",
            "off_request_remote_addr",
            "off_request_tls",
            "off_url_path",
            "off_response_status"),
        p.requiredConstants());
    assertTrue(d.fields().contains(StructField.std("net/http.Request", "Method", "off_request_method")));
    assertTrue(d.fields().contains(StructField.std("net/http.response", "status", "off_response_status")));
    assertTrue(d.fields().contains(StructField.std("net/http.response", "req", "off_response_req")));
    // Every probe's required constants are declared fields; only the optional features' probes need writes.
    java.util.Set<String> declared = d.fields().stream().map(StructField::constant).collect(Collectors.toSet());
    for (FunctionProbe probe : d.probes()) {
      assertTrue(declared.containsAll(probe.requiredConstants()), probe + " requires undeclared constants");
    }
    assertEquals(List.of("net/http.Header.writeSubset",
            "vendor/golang.org/x/net/http2/hpack.(*Encoder).WriteField", "net/http.(*http2Framer).WriteHeaders"),
        d.probes().stream().filter(x -> FunctionProbe.PROPAGATION.equals(x.feature())).map(FunctionProbe::symbol)
            .toList());
    FunctionProbe client = d.probes().stream().filter(x -> x.symbol().equals(NetHttpProbeSet.ROUND_TRIP_SYMBOL))
        .findFirst().orElseThrow();
    assertEquals("nethttp_client_entry", client.entryProgram());
    assertEquals(null, client.feature(), "client spans need no memory writes");
  }

  @Test
  void decoderIsShared() {
    assertSame(set.decoder(), set.decoder());
  }

  /** The compiled object (built by the BPF step of this module) defines every program and constant named. */
  @Test
  void bpfObjectDefinesDeclaredNames() throws Exception {
    byte[] elf;
    try (InputStream in = set.openResource(set.descriptor().bpfObjectResource())) {
      elf = in.readAllBytes();
    }
    assertNotNull(elf);
    assertEquals(0x7f, elf[0]);
    String strings = new String(elf, StandardCharsets.ISO_8859_1);
    ProbeSetDescriptor d = set.descriptor();
    List<String> names =
        new java.util.ArrayList<>(
            List.of(ProbeSetDescriptor.RING_BUFFER_MAP, ProbeSetDescriptor.SOURCE_CONSTANT));
    for (FunctionProbe probe : d.probes()) {
      for (String program : new String[] {probe.entryProgram(), probe.returnProgram()}) {
        if (program != null) {
          names.add(program);
        }
      }
    }
    d.fields().forEach(f -> names.add(f.constant()));
    for (String name : names) {
      assertTrue(strings.contains("\0" + name + "\0"), "symbol " + name + " in nethttp.bpf.o");
    }
  }

  @Test
  void extensionIndexListsTheProbeSet() throws Exception {
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("META-INF/extensions.idx")) {
      assertNotNull(in, "META-INF/extensions.idx");
      String idx = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(idx.contains(NetHttpProbeSet.class.getName()), idx);
    }
  }
}
