package io.goscope.plugins.pgx;

import io.goscope.api.testing.BpfVerifier;
import org.junit.jupiter.api.Test;

/**
 * Privileged: loads the compiled object into this kernel with {@code bpftool prog loadall} so the verifier checks
 * every program its descriptor names. Offsets keep their defaults (the verifier sees them as constants); the full path with real
 * offsets is covered by the platform's attach tests and the end-to-end tests. Skips with a reason without root,
 * bpftool or a mounted bpffs; fails instead under {@code CI=true}.
 */
class PgxBpfVerifierTest {
  @Test
  void objectPassesTheVerifier() throws Exception {
    BpfVerifier.assertDescriptorProgramsLoad(new PgxProbeSet());
  }
}
