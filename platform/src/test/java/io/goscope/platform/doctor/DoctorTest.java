package io.goscope.platform.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.agent.AgentConfig;
import io.goscope.platform.doctor.CheckResult.Status;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DoctorTest {
  @TempDir Path root;

  private Doctor doctor(Map<String, String> config, long caps) {
    return new Doctor(AgentConfig.fromEnvironment(config), root, () -> caps, Duration.ofMillis(500));
  }

  private static long caps(int... numbers) {
    long m = 0;
    for (int n : numbers) {
      m |= 1L << n;
    }
    return m;
  }

  private void write(String path, String content) throws Exception {
    Path p = root.resolve(path);
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
  }

  @Test
  void kernelVersion() throws Exception {
    write("proc/sys/kernel/osrelease", "6.18.0-1-amd64\n");
    assertEquals(Status.PASS, doctor(Map.of(), 0).kernel().status());
    write("proc/sys/kernel/osrelease", "5.4.0-150-generic\n");
    CheckResult old = doctor(Map.of(), 0).kernel();
    assertEquals(Status.FAIL, old.status());
    assertTrue(old.required());
    assertTrue(old.fix().contains("5.8"), old.fix());
  }

  @Test
  void capabilitiesHeldAgainstNeeded() {
    List<CheckResult> all = doctor(Map.of(), caps(39, 38, 19, 2, 40)).capabilityChecks();
    assertTrue(all.stream().allMatch(r -> r.status() == Status.PASS), all.toString());

    List<CheckResult> noBpf = doctor(Map.of(), caps(38, 19, 2, 40)).capabilityChecks();
    CheckResult bpf = find(noBpf, "capability CAP_BPF");
    assertEquals(Status.FAIL, bpf.status());
    assertTrue(bpf.required());
    assertTrue(bpf.fix().contains("BPF"), bpf.fix());
    assertTrue(Doctor.requiredFailed(noBpf));

    CheckResult viaAdmin = find(doctor(Map.of(), caps(21, 19, 2, 40)).capabilityChecks(), "capability CAP_BPF");
    assertEquals(Status.PASS, viaAdmin.status(), "CAP_SYS_ADMIN covers CAP_BPF on older kernels");

    List<CheckResult> noPtrace = doctor(Map.of(), caps(39, 38, 2, 40)).capabilityChecks();
    CheckResult ptrace = find(noPtrace, "capability CAP_SYS_PTRACE");
    assertEquals(Status.FAIL, ptrace.status());
    assertFalse(ptrace.required(), "the agent still traces its own user's processes");
    assertFalse(Doctor.requiredFailed(noPtrace));
    assertEquals(Status.WARN, find(doctor(Map.of(), caps(39, 38, 19, 2)).capabilityChecks(),
        "capability CAP_CHECKPOINT_RESTORE").status());
  }

  @Test
  void lockdownModes() throws Exception {
    assertEquals(Status.PASS, doctor(Map.of(), 0).lockdown().status(), "no lockdown file");
    write("sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
    assertEquals(Status.PASS, doctor(Map.of(), 0).lockdown().status());
    write("sys/kernel/security/lockdown", "none integrity [confidentiality]\n");
    CheckResult c = doctor(Map.of(), 0).lockdown();
    assertEquals(Status.WARN, c.status());
    assertTrue(c.detail().startsWith("confidentiality"), c.detail());
  }

  @Test
  void hostProcPointingNowhereFails() throws Exception {
    CheckResult nowhere = doctor(Map.of("host.proc", root.resolve("nowhere").toString()), 0).hostProc();
    assertEquals(Status.FAIL, nowhere.status());
    assertTrue(nowhere.required());
    assertTrue(nowhere.detail().contains("nowhere"), nowhere.detail());
    assertTrue(nowhere.fix().contains("HOST_PROC"), nowhere.fix());
    assertEquals(Status.PASS, doctor(Map.of("host.proc", "/proc"), 0).hostProc().status());
  }

  @Test
  void unreachableEndpointIsAWarning() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
      CheckResult up = doctor(Map.of("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + port), 0).otlpEndpoint();
      assertEquals(Status.PASS, up.status(), up.detail());
    }
    CheckResult down = doctor(Map.of("otel.exporter.otlp.endpoint", "http://127.0.0.1:" + port), 0).otlpEndpoint();
    assertEquals(Status.WARN, down.status());
    assertTrue(down.fix().contains("OTEL_EXPORTER_OTLP_ENDPOINT"), down.fix());
    assertEquals(Status.PASS, doctor(Map.of("otel.traces.exporter", "none"), 0).otlpEndpoint().status());
    assertEquals("http://localhost:4318", Doctor.endpoint(AgentConfig.fromEnvironment(Map.of()).properties()));
    assertEquals("http://localhost:4317", Doctor.endpoint(AgentConfig.fromEnvironment(
        Map.of("otel.exporter.otlp.protocol", "grpc")).properties()));
  }

  @Test
  void tableAndJson() {
    List<CheckResult> results = List.of(
        CheckResult.pass("kernel version", "6.18", true),
        CheckResult.fail("capability CAP_BPF", "not held", "add BPF", true),
        CheckResult.warn("tracefs", "not mounted", "mount it"));
    String table = Doctor.table(results);
    assertTrue(table.contains("fail  capability CAP_BPF  not held"), table);
    assertTrue(table.contains("fix: add BPF"), table);
    assertTrue(table.endsWith("summary: 1 pass, 1 warn, 1 fail\n"), table);
    assertEquals("fail", Doctor.asMaps(results).get(1).get("status"));
    assertTrue(Doctor.anyFailed(results));
  }

  private static CheckResult find(List<CheckResult> results, String name) {
    return results.stream().filter(r -> r.name().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no check " + name + " in " + results));
  }
}
