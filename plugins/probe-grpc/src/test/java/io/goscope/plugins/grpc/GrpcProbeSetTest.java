package io.goscope.plugins.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.StructField;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class GrpcProbeSetTest {
  private final GrpcProbeSet set = new GrpcProbeSet();

  @Test
  void descriptor() {
    ProbeSetDescriptor d = set.descriptor();
    assertSame(d, set.descriptor());
    assertEquals("grpc", d.id());
    assertEquals("bpf/grpc.bpf.o", d.bpfObjectResource());
    assertEquals("offsets/grpc-offsets.yaml", d.offsetTableResource());
    assertEquals(List.of(GrpcProbeSet.HANDLE_STREAM_SYMBOL, GrpcProbeSet.INVOKE_SYMBOL,
        GrpcProbeSet.NEW_STREAM_SYMBOL), d.librarySymbols(), "a binary without grpc-go is not applicable");
    FunctionProbe server = d.probes().get(0);
    assertEquals("google.golang.org/grpc.(*Server).handleStream", server.symbol());
    assertEquals(List.of("off_stream_method"), server.requiredConstants());
    assertEquals(FailureMode.WARN, server.failureMode());
    Set<String> declared = d.fields().stream().map(StructField::constant).collect(Collectors.toSet());
    for (FunctionProbe p : d.probes()) {
      assertTrue(declared.containsAll(p.requiredConstants()), p + " requires undeclared constants");
      assertNull(p.module(), p + ": no probe depends on a module version (GOPATH builds record none)");
    }
    assertTrue(d.versionedConstants().isEmpty(), "layouts are told apart by fields and data, not versions");
    assertEquals(List.of(GrpcProbeSet.TRANSPORT + ".(*http2Client).createHeaderFields",
            GrpcProbeSet.TRANSPORT + ".(*loopyWriter).writeHeader", "golang.org/x/net/http2.(*Framer).WriteHeaders"),
        d.probes().stream().filter(x -> FunctionProbe.PROPAGATION.equals(x.feature())).map(FunctionProbe::symbol)
            .toList(), "only propagation writes memory");
    // The programs of propagation serve no other probe (they are not loaded where writes are refused).
    Set<String> propagation = new java.util.HashSet<>();
    Set<String> others = new java.util.HashSet<>();
    for (FunctionProbe p : d.probes()) {
      Set<String> into = FunctionProbe.PROPAGATION.equals(p.feature()) ? propagation : others;
      if (p.entryProgram() != null) {
        into.add(p.entryProgram());
      }
      if (p.returnProgram() != null) {
        into.add(p.returnProgram());
      }
    }
    propagation.retainAll(others);
    assertTrue(propagation.isEmpty(), propagation.toString());
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
    List<String> names = new ArrayList<>(List.of(ProbeSetDescriptor.RING_BUFFER_MAP,
        ProbeSetDescriptor.SOURCE_CONSTANT));
    for (FunctionProbe probe : d.probes()) {
      for (String program : new String[] {probe.entryProgram(), probe.returnProgram()}) {
        if (program != null) {
          names.add(program);
        }
      }
    }
    d.fields().forEach(f -> names.add(f.constant()));
    for (String name : names) {
      assertTrue(strings.contains("\0" + name + "\0"), "symbol " + name + " in grpc.bpf.o");
    }
  }

  /** The bundled table parses and covers the releases it was generated from. */
  @Test
  void bundledTableIsThere() throws Exception {
    try (InputStream in = set.openResource(set.descriptor().offsetTableResource())) {
      String yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      for (String v : List.of("v1.33.3", "v1.66.3", "v1.70.0", "v1.85.0")) {
        assertTrue(yaml.contains("from: \"" + v + "\""), v);
      }
    }
  }

  @Test
  void extensionIndexListsTheProbeSet() throws Exception {
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("META-INF/extensions.idx")) {
      assertNotNull(in, "META-INF/extensions.idx");
      String idx = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(idx.contains(GrpcProbeSet.class.getName()), idx);
    }
  }
}
