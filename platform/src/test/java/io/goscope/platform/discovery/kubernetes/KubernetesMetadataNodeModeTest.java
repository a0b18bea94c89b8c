package io.goscope.platform.discovery.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.goscope.api.ProcessInfo;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The source without a usable API server: it must start fast, describe nothing and close cleanly. */
class KubernetesMetadataNodeModeTest {

  private static final ProcessInfo PROCESS = new ProcessInfo(7, List.of(7), "/bin/app", List.of("/bin/app"),
      Map.of(), 1L, "a".repeat(64), "0b7e2a3c-1111-2222-3333-444455556666");

  @Test
  void unreachableApiServerDoesNotBlockStartAndDescribesNothing() throws Exception {
    try (KubernetesClient client = new KubernetesClientBuilder()
        .withConfig(new ConfigBuilder().withMasterUrl("https://127.0.0.1:1").withConnectionTimeout(500)
            .withRequestTimeout(500).withRequestRetryBackoffLimit(0).build())
        .build()) {
      KubernetesMetadata source = new KubernetesMetadata(client, KubernetesMetadataConfig.defaults());
      long start = System.nanoTime();
      source.start(new RecordingDiscoveryContext("node-a", Map.of()));
      long startMillis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(startMillis < 3_000, "start() took " + startMillis + " ms");

      long describeStart = System.nanoTime();
      assertEquals(Optional.empty(), source.describe(PROCESS));
      assertTrue((System.nanoTime() - describeStart) / 1_000_000 < 100, "describe() is cache-only");
      Thread.sleep(1_500); // informers fail and retry in the background meanwhile
      assertEquals(Optional.empty(), source.describe(PROCESS));
      assertFalse(source.hasSynced());

      long closeStart = System.nanoTime();
      source.close();
      source.close();
      assertTrue((System.nanoTime() - closeStart) / 1_000_000 < 3_000, "close() is prompt and idempotent");
    }
  }

  @Test
  void outsideAClusterWithoutKubeconfigTheSourceIsInert(@TempDir Path home) {
    KubernetesMetadata source = new KubernetesMetadata(null, null, Map.of(), home);
    long start = System.nanoTime();
    source.start(new RecordingDiscoveryContext("node-a", Map.of()));
    assertTrue((System.nanoTime() - start) / 1_000_000 < 1_000);
    assertEquals(Optional.empty(), source.describe(PROCESS));
    assertFalse(source.hasSynced());
    source.close();
  }

  @Test
  void withoutNodeNameTheSourceIsInert(@TempDir Path home) {
    KubernetesMetadata source = new KubernetesMetadata(null, null, Map.of("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
        home);
    source.start(new RecordingDiscoveryContext(null, Map.of()));
    assertEquals(Optional.empty(), source.describe(PROCESS));
    assertEquals("kubernetes", source.name());
    source.close();
  }
}
