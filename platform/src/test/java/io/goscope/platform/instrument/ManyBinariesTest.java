package io.goscope.platform.instrument;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.platform.cli.NetHttpProbeSetFixture;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.sys.CapstoneX86Decoder;
import io.goscope.testing.DistinctGoBinaries;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node with 50 different Go services, each running in several pods, some from the same image unpacked at another
 * path, reconciled over and over: the agent's {@link BinaryAnalyzer} parses each binary exactly once (by file identity,
 * then by build ID) and keeps only the plans.
 */
class ManyBinariesTest {
  static final int SERVICES = 50;
  static final int PODS = 3;
  static final int RECONCILES = 4;

  @Test
  void fiftyDifferentBinariesAreEachAnalysedOnce(@TempDir Path tmp) throws IOException {
    Assumptions.assumeTrue(GoBuilder.goAvailable() || "true".equals(System.getenv("CI")), "no go toolchain");
    List<Path> binaries = DistinctGoBinaries.build(GoToolchain.installed(), Path.of("target/many-binaries"),
        SERVICES);
    BinaryAnalyzer analyzer = new BinaryAnalyzer(new ProbePlanner(new FieldResolver(List.of(), null)),
        List.of(ProbeSetRuntime.load(1, new NetHttpProbeSetFixture())), BinaryAnalyzer.DEFAULT_CAPACITY);
    // Each image is also unpacked at a second path (another inode, same build ID).
    List<Path> copies = new java.util.ArrayList<>();
    for (Path b : binaries) {
      copies.add(Files.copy(b, tmp.resolve(b.getFileName()), StandardCopyOption.COPY_ATTRIBUTES));
    }
    Set<String> buildIds = new HashSet<>();
    long t0 = System.nanoTime();
    for (int round = 0; round < RECONCILES; round++) {
      for (int i = 0; i < SERVICES; i++) {
        for (int pod = 0; pod < PODS; pod++) {
          Path exe = pod == PODS - 1 ? copies.get(i) : binaries.get(i);
          BinaryAnalyzer.Analysis a = analyzer.analyze(exe, key(exe));
          buildIds.add(a.buildId());
          ProbePlan plan = a.plans().values().iterator().next();
          if (CapstoneX86Decoder.available() || "true".equals(System.getenv("CI"))) {
            assertTrue(plan.attachable(), exe + ": " + plan);
          }
        }
      }
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(SERVICES, buildIds.size(), "50 different binaries");
    assertEquals(SERVICES, analyzer.misses(), "each binary parsed once");
    assertEquals((long) SERVICES * PODS * RECONCILES - SERVICES, analyzer.hits());
    System.out.printf("%d binaries x %d pods x %d reconciles: %d parses, %d cache hits, %d ms%n", SERVICES, PODS,
        RECONCILES, analyzer.misses(), analyzer.hits(), ms);
  }

  static BinaryAnalyzer.FileKey key(Path p) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
    return new BinaryAnalyzer.FileKey(((Number) Files.getAttribute(p, "unix:dev")).longValue(),
        ((Number) Files.getAttribute(p, "unix:ino")).longValue(), a.lastModifiedTime().toMillis() * 1_000_000);
  }
}
