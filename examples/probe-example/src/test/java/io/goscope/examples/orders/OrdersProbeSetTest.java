package io.goscope.examples.orders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSetDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The description against the BPF source and the bundled resources, at the plugin's own build time. (The host checks
 * the same against the compiled object when it loads the plugin: a misspelt name is an error naming it.)
 */
class OrdersProbeSetTest {
  private final OrdersProbeSet set = new OrdersProbeSet();
  private final ProbeSetDescriptor d = set.descriptor();

  @Test
  void theProbeCarriesItsCookie() {
    FunctionProbe p = d.probes().get(0);
    assertEquals("main.processOrder", p.symbol());
    assertEquals(0xC0FFEEL, p.cookie());
  }

  @Test
  void everyConstantAndProgramIsInTheBpfSource() throws IOException {
    String c = Files.readString(Path.of("src/main/bpf/orders.bpf.c"));
    for (String constant : d.constantNames()) {
      assertTrue(c.contains("const volatile __u64 " + constant + " "), "const volatile " + constant);
    }
    for (FunctionProbe p : d.probes()) {
      assertTrue(c.contains("int " + p.entryProgram() + "(struct pt_regs *ctx)"), p.entryProgram());
      assertTrue(c.contains("int " + p.returnProgram() + "(struct pt_regs *ctx)"), p.returnProgram());
    }
  }

  @Test
  void theObjectAndOffsetTableAreBundled() throws IOException {
    for (String resource : new String[] {d.bpfObjectResource(), "bpf/x86_64/orders.bpf.o",
        "bpf/aarch64/orders.bpf.o", d.offsetTableResource()}) {
      try (InputStream in = set.openResource(resource)) {
        assertTrue(in.readAllBytes().length > 0, resource);
      }
    }
  }
}
