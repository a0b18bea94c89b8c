package io.goscope.plugins.grpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.testing.BpfVerifier;
import io.goscope.api.testing.GoscopeRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Privileged: loads the compiled object into this kernel with {@code bpftool prog loadall} so the verifier checks
 * every program. Offsets keep their defaults (the verifier sees them as constants), so the branches that need an
 * unresolved offset are pruned: that is also why the propagation programs load here although this host refuses
 * {@code bpf_probe_write_user} (their writes sit behind offsets that default to "unknown"). The programs with real
 * offsets are loaded by the agent in {@code GrpcE2ETest}. Skips with a reason without root, bpftool or a mounted
 * bpffs; fails instead under {@code CI=true}.
 */
class GrpcBpfVerifierTest {
  @Test
  void objectPassesTheVerifier() throws Exception {
    BpfVerifier.assertDescriptorProgramsLoad(new GrpcProbeSet());
  }

  /**
   * The same programs with the offsets of two real layouts (grpc-go 1.33 and 1.85, {@code src/test/resources/verifier})
   * compiled in as their initial values ({@code GRPC_VERIFY_OFFSETS}), so that no branch is pruned for an unknown
   * offset: the verifier checks the whole of every program, the propagation programs' frame checks included. Their
   * {@code bpf_probe_write_user} calls are compiled as reads of the same bytes, which a locked-down kernel allows.
   */
  @Test
  void objectWithRealOffsetsPassesTheVerifier() throws Exception {
    BpfVerifier.requireEnvironment();
    Path root = GoscopeRoot.find();
    Path work = BpfVerifier.workDir();
    for (String layout : List.of("v1.33", "v1.85.0")) {
      Path offsets = root.resolve("plugins/probe-grpc/src/test/resources/verifier/offsets-" + layout + ".h");
      Path object = work.resolve("grpc-" + layout + ".bpf.o");
      BpfVerifier.run(List.of(root.resolve("bpf-programs/build-bpf.sh").toString(),
          root.resolve("plugins/probe-grpc/src/main/bpf/grpc.bpf.c").toString(), object.toString(),
          "-DGRPC_VERIFY_OFFSETS=\"" + offsets + "\""), "compile " + layout);
      BpfVerifier.loadAll(object, "grpc_" + layout, pins -> {
        assertTrue(Files.exists(pins.resolve("grpc_inject_frame_return")), layout);
        assertTrue(Files.exists(pins.resolve("grpc_server_entry")), layout);
      });
    }
  }
}
