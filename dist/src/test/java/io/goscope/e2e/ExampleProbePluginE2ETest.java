package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.GoscopeException;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordDecoder;
import io.goscope.api.StructField;
import io.goscope.platform.instrument.ProbeSetRuntime;
import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A probe set written outside this repository: {@code examples/probe-example} is built here by its own
 * {@code mvn -f .../pom.xml package}, outside the reactor, from the published artifacts alone (the probe-set kit zip
 * and goscope-plugin-api, as this reactor packaged them), its jar dropped into the plugins directory of the built
 * distribution, and {@code bin/goscope agent} traces the orders app ({@code dist/src/test/go/orders}) with it.
 *
 * <p>Asserted: every call of {@code main.processOrder} gives one INTERNAL span of the example's scope, the child of
 * the net/http SERVER span of the same request (same trace, parent id, inside its interval) under concurrency, with
 * the call's argument ({@code order.id}), a struct field read at a host-resolved offset ({@code order.query}) and
 * the BPF cookie the probe declared ({@code probe.cookie}), which only reaches the record through
 * {@code bpf_get_attach_cookie}. And the host's check of the example's description against its object: the object
 * and offset table are read through {@link ProbeSet#openResource}, and a misspelt constant is an error naming it.
 *
 * <p>The example's Maven build must not touch {@code ~/.m2} with this reactor's snapshot version (stale copies there
 * break {@code -pl} builds): it runs with a local repository of its own under {@code dist/target/} and a settings
 * file whose repositories are, in order, a file repository this test writes (the reactor's parent pom, plugin-api
 * and kit, in the Maven layout), {@code ~/.m2/repository} read as a remote (already downloaded third-party
 * artifacts), then Maven Central.
 */
class ExampleProbePluginE2ETest {
  /** {@code OrdersProbeSet.COOKIE} of the example: the low 32 bits of every one of its uprobes' cookies. */
  private static final long COOKIE = 0xC0FFEE;
  /** {@code OrderEventDecoder.SCOPE} of the example. */
  private static final String SCOPE = "io.goscope.examples.orders";
  private static final String PROBE_SET_CLASS = "io.goscope.examples.orders.OrdersProbeSet";
  private static final int REQUESTS = 20;

  @TempDir static Path work;
  static Path exampleJar;
  static OtlpReceiver receiver;
  static AgentProcess agent;
  static GoServer orders;

  static Path root() {
    return Path.of(System.getProperty("goscope.root", "..")).toAbsolutePath().normalize();
  }

  @BeforeAll
  static void start() throws Exception {
    BpfAssumptions.assumeBpf();
    BpfAssumptions.assumeCommand("mvn", "-v");
    BpfAssumptions.assumeCommand("clang", "--version");
    BpfAssumptions.assumeCommand(GoBuilder.go("version").toArray(String[]::new));
    long t0 = System.nanoTime();
    Process mvn = startExampleBuild();
    Path bin;
    try {
      bin = GoBuilder.build(GoToolchain.installed(), root().resolve("dist/src/test/go/orders"),
          work.resolve("orders"), List.of(), Map.of("CGO_ENABLED", "0"));
      exampleJar = awaitExampleBuild(mvn, t0);
    } finally {
      if (mvn.isAlive()) { // a failure above: nothing this test starts outlives it (surefire forks included)
        mvn.descendants().forEach(ProcessHandle::destroyForcibly);
        mvn.destroyForcibly();
      }
    }

    Path plugins = Files.createDirectories(work.resolve("plugins"));
    try (Stream<Path> shipped = Files.list(AgentProcess.home().resolve("plugins"))) {
      for (Path jar : shipped.filter(p -> p.toString().endsWith(".jar")).toList()) {
        Files.copy(jar, plugins.resolve(jar.getFileName()));
      }
    }
    Files.copy(exampleJar, plugins.resolve(exampleJar.getFileName()));

    receiver = OtlpReceiver.start();
    Map<String, String> env = new HashMap<>(AgentProcess.exportingTo(receiver, "orders"));
    env.put("GOSCOPE_PLUGINS_DIR", plugins.toString());
    agent = AgentProcess.start(env);
    agent.awaitLine(l -> l.contains("agent started"), Duration.ofSeconds(60));
    orders = GoServer.start(bin, List.of());
    agent.awaitLine(l -> l.contains("process instrumented pid=" + orders.launcherPid()), Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {orders, agent, receiver}) {
      if (c != null) {
        c.close();
      }
    }
  }

  // ---- the example's build, outside the reactor --------------------------------------------------------------

  /**
   * Starts {@code mvn package} of a fresh copy of {@code examples/probe-example} (no path can lead back into this
   * repository) against the file repository of the reactor's artifacts.
   */
  private static Process startExampleBuild() throws IOException {
    String version = System.getProperty("goscope.version");
    assertTrue(version != null && !version.isBlank(), "system property goscope.version (set by dist/pom.xml)");
    Path base = Files.createDirectories(root().resolve("dist/target/probe-example-build"));
    Path repo = base.resolve("repo");
    deleteRecursively(repo);
    publish(repo, "goscope-parent", version, root().resolve("pom.xml"), null, null);
    publish(repo, "goscope-plugin-api", version, root().resolve("plugin-api/pom.xml"),
        root().resolve("plugin-api/target/goscope-plugin-api-" + version + ".jar"), "jar");
    publish(repo, "goscope-probe-kit", version, root().resolve("probe-kit/pom.xml"),
        root().resolve("probe-kit/target/goscope-probe-kit-" + version + ".zip"), "zip");
    // The local repository persists between runs for third-party artifacts; Goscope's are always taken afresh.
    Path localRepo = base.resolve("m2");
    deleteRecursively(localRepo.resolve("io/goscope"));
    Path settings = base.resolve("settings.xml");
    Files.writeString(settings, settings(repo, Path.of(System.getProperty("user.home"), ".m2/repository")));
    Path project = base.resolve("probe-example");
    deleteRecursively(project);
    copyTree(root().resolve("examples/probe-example"), project);

    List<String> cmd = List.of("mvn", "-B", "-ntp", "-Dstyle.color=never", "-s", settings.toString(),
        "-Dmaven.repo.local=" + localRepo, "-Dgoscope.version=" + version, "-f",
        project.resolve("pom.xml").toString(), "package");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(base.toFile()).redirectErrorStream(true)
        .redirectOutput(base.resolve("build.log").toFile());
    pb.environment().remove("MAVEN_ARGS");
    return pb.start();
  }

  private static Path awaitExampleBuild(Process mvn, long startNanos) throws Exception {
    Path base = root().resolve("dist/target/probe-example-build");
    if (!mvn.waitFor(5, TimeUnit.MINUTES)) {
      throw new AssertionError("the example's build did not finish within 5 minutes; " + base.resolve("build.log"));
    }
    List<String> log = Files.readAllLines(base.resolve("build.log"), StandardCharsets.UTF_8);
    if (mvn.exitValue() != 0) {
      throw new AssertionError("mvn package of examples/probe-example failed (exit " + mvn.exitValue() + "):\n"
          + String.join("\n", log.subList(Math.max(0, log.size() - 80), log.size())));
    }
    Path jar = base.resolve("probe-example/target/goscope-probe-example-1.0.0.jar");
    assertTrue(Files.isRegularFile(jar), jar + " built");
    assertTrue(log.stream().anyMatch(l -> l.contains("Tests run: ") && l.contains("Failures: 0")),
        "the example's own unit tests ran");
    System.out.printf("example probe plugin built outside the reactor in %d ms (with the Go app's build)%n",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    return jar;
  }

  /**
   * Puts {@code pom} (and {@code file} of {@code type}, unless null) into {@code repo} in the Maven layout, each with
   * its {@code .sha1}.
   */
  private static void publish(Path repo, String artifactId, String version, Path pom, Path file, String type)
      throws IOException {
    Path dir = Files.createDirectories(repo.resolve("io/goscope").resolve(artifactId).resolve(version));
    String name = artifactId + "-" + version;
    publishFile(pom, dir.resolve(name + ".pom"));
    if (file != null) {
      assertTrue(Files.isRegularFile(file), file + " packaged by the reactor (mvn -pl dist -am verify builds it)");
      publishFile(file, dir.resolve(name + "." + type));
    }
  }

  private static void publishFile(Path from, Path to) throws IOException {
    Files.copy(from, to);
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1").digest(Files.readAllBytes(to));
      Files.writeString(to.resolveSibling(to.getFileName() + ".sha1"), HexFormat.of().formatHex(sha1));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String settings(Path kitRepo, Path homeRepo) {
    String releases = "<releases><enabled>true</enabled><checksumPolicy>ignore</checksumPolicy></releases>";
    String noSnapshots = "<snapshots><enabled>false</enabled></snapshots>";
    String home = "<id>home-m2</id><url>" + homeRepo.toUri() + "</url>" + releases + noSnapshots;
    return """
        <settings>
          <profiles>
            <profile>
              <id>goscope-kit</id>
              <repositories>
                <repository>
                  <id>goscope-kit</id><url>%s</url>
                  <releases><enabled>false</enabled></releases>
                  <snapshots><enabled>true</enabled><updatePolicy>always</updatePolicy></snapshots>
                </repository>
                <repository>%s</repository>
              </repositories>
              <pluginRepositories>
                <pluginRepository>%s</pluginRepository>
              </pluginRepositories>
            </profile>
          </profiles>
          <activeProfiles><activeProfile>goscope-kit</activeProfile></activeProfiles>
        </settings>
        """.formatted(kitRepo.toUri(), home, home);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : files.filter(p -> !from.relativize(p).toString().startsWith("target")).toList()) {
        Path dest = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(dest);
        } else {
          Files.copy(f, dest, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  private static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> files = Files.walk(p)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }

  // ---- the traces ----------------------------------------------------------------------------------------------

  private static String pathOf(ReceivedSpan s) {
    Object p = s.attributes().get("url.path");
    return p == null ? "" : (String) p;
  }

  /** Waits until {@code n} spans match {@code p}; returns exactly those. */
  private static List<ReceivedSpan> await(Predicate<ReceivedSpan> p, int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    List<ReceivedSpan> got = List.of();
    while (System.nanoTime() < deadline) {
      got = receiver.spans().stream().filter(p).toList();
      if (got.size() >= n) {
        Thread.sleep(1500); // anything extra would arrive now
        got = receiver.spans().stream().filter(p).toList();
        break;
      }
      Thread.sleep(100);
    }
    assertEquals(n, got.size(), "spans matching; got " + got + "\nagent output:\n"
        + String.join("\n", agent.output()));
    return got;
  }

  /**
   * Twenty concurrent orders: twenty INTERNAL spans of the example, each the child of its own request's SERVER span,
   * with its order id and query, and the cookie the probe declared.
   */
  @Test
  void eachCallIsAChildSpanOfItsRequestWithTheArgumentAndTheCookie() throws Exception {
    agent.awaitLine(l -> l.contains("probe set loaded id=example-orders"), Duration.ofSeconds(1));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Integer>> results = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      int id = 1000 + i;
      results.add(pool.submit(() -> orders.get("/orders/" + id + "?item=book-" + id)));
    }
    for (Future<Integer> f : results) {
      assertEquals(200, f.get());
    }
    pool.shutdown();

    long pid = orders.launcherPid();
    List<ReceivedSpan> servers = await(s -> s.kind().equals("SERVER")
        && pathOf(s).startsWith("/orders/") && ((Long) s.resourceAttributes().get("process.pid")) == pid, REQUESTS);
    List<ReceivedSpan> calls = await(s -> s.scope().equals(SCOPE), REQUESTS);
    Map<String, ReceivedSpan> serverByPath = servers.stream()
        .collect(Collectors.toMap(ExampleProbePluginE2ETest::pathOf, s -> s));
    for (ReceivedSpan c : calls) {
      assertEquals("processOrder", c.name(), c.toString());
      assertEquals("INTERNAL", c.kind(), c.toString());
      assertEquals(pid, c.resourceAttributes().get("process.pid"));
      long id = (Long) c.attributes().get("order.id");
      assertEquals("item=book-" + id, c.attributes().get("order.query"), c.toString());
      assertEquals(COOKIE, c.attributes().get("probe.cookie"), "the cookie reached the program: " + c);
      ReceivedSpan server = serverByPath.get("/orders/" + id);
      assertTrue(server != null, "a server span for order " + id + ": " + servers);
      assertEquals("", server.parentSpanId(), "the request starts the trace: " + server);
      assertEquals(server.traceId(), c.traceId(), "same trace as its request: " + c);
      assertEquals(server.spanId(), c.parentSpanId(), "the child of its request's server span: " + c);
      assertTrue(c.startEpochNanos() >= server.startEpochNanos() && c.endEpochNanos() <= server.endEpochNanos(),
          "within its parent: " + c + " in " + server);
      assertTrue(c.endEpochNanos() - c.startEpochNanos() >= 2_000_000, "processOrder sleeps 2 ms: " + c);
    }
    assertEquals(REQUESTS, calls.stream().map(ReceivedSpan::parentSpanId).distinct().count(), "one per request");
  }

  /**
   * The host's load-time check on the example's own jar: its object and offset table come through
   * {@link ProbeSet#openResource}, its description matches its object, and the same description with one constant
   * misspelt is refused with an error naming that constant (never a silent zero).
   */
  @Test
  void theHostChecksTheExamplesConstantsAgainstItsObject() throws Exception {
    try (URLClassLoader loader = new URLClassLoader(new URL[] {exampleJar.toUri().toURL()},
        ExampleProbePluginE2ETest.class.getClassLoader())) {
      ProbeSet example = (ProbeSet) loader.loadClass(PROBE_SET_CLASS).getDeclaredConstructor().newInstance();
      List<String> opened = new ArrayList<>();
      ProbeSetRuntime runtime = ProbeSetRuntime.load(1, recording(example, example.descriptor(), opened));
      assertEquals(1, runtime.offsetTables().size());
      assertTrue(runtime.hasConstant("off_url_raw_query"));
      assertTrue(opened.contains("offsets/orders-offsets.yaml"), "offset table read through openResource: "
          + opened);
      assertTrue(opened.stream().anyMatch(r -> r.endsWith("orders.bpf.o")), "object through openResource: " + opened);

      ProbeSetDescriptor d = example.descriptor();
      ProbeSetDescriptor.Builder misspelt = ProbeSetDescriptor.builder(d.id()).description(d.description())
          .bpfObject(d.bpfObjectResource()).offsetTable(d.offsetTableResource());
      d.probes().forEach(misspelt::probe);
      for (StructField f : d.fields()) {
        misspelt.field(new StructField(f.module(), f.structType(), f.field(), f.constant().replace("query", "qeury")));
      }
      GoscopeException e = assertThrows(GoscopeException.class,
          () -> ProbeSetRuntime.load(1, recording(example, misspelt.build(), new ArrayList<>())));
      assertTrue(e.getMessage().contains("off_url_raw_qeury"), e.getMessage());
    }
  }

  /** {@code delegate} with {@code descriptor}, recording the resources the host opens. */
  private static ProbeSet recording(ProbeSet delegate, ProbeSetDescriptor descriptor, List<String> opened) {
    return new ProbeSet() {
      @Override
      public ProbeSetDescriptor descriptor() {
        return descriptor;
      }

      @Override
      public RecordDecoder decoder() {
        return delegate.decoder();
      }

      @Override
      public InputStream openResource(String name) throws IOException {
        opened.add(name);
        return delegate.openResource(name);
      }
    };
  }
}
