package io.goscope.e2e.chart;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The agent image as {@code dist/Dockerfile} builds it from the release archive of this build, made once per test
 * JVM under {@code dist/target/chart-e2e/} (world-readable, so that steps running as the image's non-root user can
 * read it).
 */
public final class DistributionImage {
  private static DockerfileBuild.Image agent;

  private DistributionImage() {}

  public static Path repositoryRoot() {
    return Path.of(System.getProperty("goscope.root", "..")).toAbsolutePath().normalize();
  }

  /** {@code dist/target/goscope-<version>.tar.gz} of this build. */
  public static Path tarball() {
    String t = System.getProperty("goscope.tarball");
    Path p = t != null ? Path.of(t) : repositoryRoot().resolve("dist/target/goscope-0.1.0-SNAPSHOT.tar.gz");
    if (!Files.isRegularFile(p)) {
      throw new IllegalStateException("release archive not built: " + p + " (mvn -pl dist -am package)");
    }
    return p;
  }

  /** A scratch directory under dist/target, readable by every user. */
  public static Path scratch(String name) {
    Path dir = tarball().getParent().resolve("chart-e2e").resolve(name);
    try {
      DockerfileBuild.deleteRecursively(dir);
      Files.createDirectories(dir);
      for (Path p = dir; !p.equals(tarball().getParent()); p = p.getParent()) {
        Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return dir;
  }

  /** The agent image, built from the repository root as the Dockerfile's header says. */
  public static synchronized DockerfileBuild.Image agent() {
    if (agent == null) {
      tarball();
      agent = DockerfileBuild.build(repositoryRoot().resolve("dist/Dockerfile"), repositoryRoot(),
          scratch("image-agent"), Map.of());
    }
    return agent;
  }
}
