package io.goscope.e2e.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.goscope.platform.gobinary.OffsetTable;
import io.goscope.platform.rules.RuleFile;
import io.goscope.platform.rules.RuleFileParser;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The release archive and the images built from it, without a container engine: the archive's layout and example
 * configuration; {@code dist/Dockerfile} built by {@link DockerfileBuild} from the archive of this build (every
 * COPY/ADD source must exist, the apt packages must be the ones this Debian host runs the tests with, the CDS
 * archive step must succeed), its entrypoint run from the image's tree as the image's user, using the CDS archive;
 * and the plugin image layout.
 */
class DistributionImageTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void releaseArchiveHasBinLibPluginsAndConf() throws Exception {
    Map<String, String> entries = new TreeMap<>(); // name -> mode
    Process tar = new ProcessBuilder("tar", "-tzvf", DistributionImage.tarball().toString()).start();
    for (String line : new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
      String[] f = line.trim().split("\\s+");
      entries.put(f[f.length - 1], f[0]);
    }
    assertEquals(0, tar.waitFor());
    String top = "goscope-0.1.0-SNAPSHOT/";
    assertEquals("-rwxr-xr-x", entries.get(top + "bin/goscope"));
    assertEquals("-rwxr-xr-x", entries.get(top + "bin/goscope-cds"));
    assertEquals("-rwxr-xr-x", entries.get(top + "demo/goscope-demo-server"));
    assertTrue(entries.keySet().stream().anyMatch(e -> e.matches(top + "lib/goscope-platform-.*\\.jar")));
    assertTrue(entries.keySet().stream().anyMatch(e -> e.matches(top + "lib/jnr-ffi-.*\\.jar")));
    for (String plugin : List.of("goscope-probe-nethttp.jar", "goscope-probe-grpc.jar", "goscope-probe-databasesql.jar",
        "goscope-probe-pgx.jar", "goscope-probe-redis.jar", "goscope-exporter-otlp.jar",
        "goscope-exporter-console.jar", "goscope-exporter-prometheus.jar")) {
      assertTrue(entries.containsKey(top + "plugins/" + plugin), plugin);
    }
    assertTrue(entries.keySet().stream().noneMatch(e -> e.endsWith(".jsa")), "no CDS archive of this machine");
    assertTrue(entries.keySet().stream().allMatch(e -> e.startsWith(top)), "one top directory");
  }

  @Test
  void exampleConfigurationParses() throws Exception {
    Path conf = Path.of(System.getProperty("goscope.home", "target/goscope")).resolve("conf");
    RuleFile rules = RuleFileParser.parse("example.yaml", Files.readString(conf.resolve("rules/example.yaml")));
    assertEquals(2, rules.includes().size());
    assertEquals(1, rules.excludes().size());
    OffsetTable offsets = OffsetTable.parse("example.yaml",
        new StringReader(Files.readString(conf.resolve("offsets/example.yaml"))));
    assertEquals(2, offsets.entries().size());
  }

  @Test
  void agentImageBuildsFromTheFreshDistribution() throws Exception {
    DockerfileBuild.Image image = DistributionImage.agent();
    assertEquals(List.of("dist/target/goscope-0.1.0-SNAPSHOT.tar.gz"), image.sources());
    assertEquals(List.of("openjdk-17-jre-headless", "libbpf1", "libcapstone4"), image.aptPackages());
    for (String pkg : image.aptPackages()) {
      assertTrue(installedHere(pkg), pkg + " is what the tests run with on this Debian host");
    }
    assertTrue(Files.isExecutable(image.resolve("/opt/goscope/bin/goscope")));
    assertTrue(Files.isRegularFile(image.resolve("/opt/goscope/plugins/goscope-probe-nethttp.jar")));
    assertTrue(Files.size(image.resolve("/opt/goscope/lib/goscope.jsa")) > 1_000_000, "CDS archive written");
    assertEquals(List.of("/opt/goscope/bin/goscope"), image.entrypoint());
    assertEquals(List.of("agent"), image.cmd());
    assertEquals("65532:65532", image.user());
    assertTrue(image.env().get("PATH").startsWith("/opt/goscope/bin:"), "goscope on the PATH for kubectl exec");
    Map<String, String> labels = image.labels();
    assertEquals("0.1.0-SNAPSHOT", labels.get("org.opencontainers.image.version"));
    assertEquals("debian:bookworm-slim", labels.get("org.opencontainers.image.base.name"));
    for (String key : List.of("title", "description", "revision", "created", "source")) {
      assertTrue(labels.containsKey("org.opencontainers.image." + key), key);
    }
  }

  /**
   * The image's entrypoint, from the image's tree, as its non-root user: {@code goscope inspect} of the bundled demo
   * binary, with its classes mapped from the CDS archive the build wrote.
   */
  @Test
  void entrypointRunsFromTheImageTreeWithItsCdsArchive() throws Exception {
    DockerfileBuild.Image image = DistributionImage.agent();
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65532", "--regid=65532", "--clear-groups",
        "--"));
    cmd.add(image.resolve(image.entrypoint().get(0)).toString());
    cmd.addAll(List.of("inspect", image.resolve("/opt/goscope/demo/goscope-demo-server").toString(), "--json"));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().clear();
    pb.environment().put("PATH", System.getenv("PATH"));
    pb.environment().put("GOSCOPE_JAVA_OPTS",
        "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xlog:class+load=info:file=/tmp/goscope-cds-check-"
            + ProcessHandle.current().pid() + ".log");
    Path classLog = Path.of("/tmp/goscope-cds-check-" + ProcessHandle.current().pid() + ".log");
    Path stdout = Files.createTempFile("inspect", ".json");
    Process p = pb.redirectOutput(stdout.toFile()).redirectError(ProcessBuilder.Redirect.PIPE).start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), err);
    JsonNode report = JSON.readTree(stdout.toFile());
    assertTrue(report.toString().contains("net/http.serverHandler.ServeHTTP"), report.toString());
    try {
      List<String> loads = Files.readAllLines(classLog);
      long fromArchive = loads.stream().filter(l -> l.contains("source: shared objects file (top)")).count();
      assertTrue(fromArchive > 1000, "classes from the image's CDS archive: " + fromArchive + " of " + loads.size());
    } finally {
      Files.deleteIfExists(classLog);
      Files.deleteIfExists(stdout);
    }
  }

  @Test
  void pluginImageLayoutPutsJarsUnderPlugins() throws Exception {
    Path context = DistributionImage.scratch("plugin-image-context");
    Files.copy(DistributionImage.agent().resolve("/opt/goscope/plugins/goscope-exporter-console.jar"),
        context.resolve("acme-exporter.jar"));
    DockerfileBuild.Image image = DockerfileBuild.build(
        DistributionImage.repositoryRoot().resolve("dist/plugin-image/Dockerfile"), context,
        DistributionImage.scratch("plugin-image"), Map.of());
    assertTrue(Files.isRegularFile(image.resolve("/plugins/acme-exporter.jar")));
    assertEquals("65532:65532", image.user());
    assertTrue(image.aptPackages().isEmpty());
  }

  private static boolean installedHere(String pkg) {
    try {
      Process p = new ProcessBuilder("dpkg-query", "-W", "-f=${Status}", pkg).start();
      String status = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return p.waitFor() == 0 && status.contains("install ok installed");
    } catch (Exception e) {
      return false;
    }
  }
}
