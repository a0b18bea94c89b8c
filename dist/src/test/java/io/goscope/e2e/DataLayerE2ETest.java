package io.goscope.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.testing.BpfAssumptions;
import io.goscope.testing.GoBuilder;
import io.goscope.testing.GoToolchain;
import io.goscope.testing.OtlpReceiver;
import io.goscope.testing.OtlpReceiver.ReceivedHistogramPoint;
import io.goscope.testing.OtlpReceiver.ReceivedSpan;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data-layer probe sets as users run them: {@code dist/src/test/go/datademo} built here (current module versions
 * of lib/pq, pgx, go-sql-driver/mysql, mattn/go-sqlite3, modernc.org/sqlite and go-redis with Go 1.26, default and
 * stripped; Debian's lib/pq and go-sqlite3 in GOPATH mode with Debian's Go 1.19) against PostgreSQL, MariaDB, Redis
 * and SQLite files that the test starts on loopback, traced by {@code bin/goscope agent}, OTLP decoded by a receiver
 * in the test. Asserted exactly: every request's tree of client spans under its server span, with names, operations,
 * sanitized texts and error status; counts under 50 concurrent requests; that no literal of any statement reaches the
 * receiver; the {@code db.query.text} rule option; histogram counts equal to span counts.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DataLayerE2ETest {
  private static final int CONCURRENT = 50;

  /** Every literal the service's statements and commands carry: none may reach the receiver (but in raw mode). */
  private static final List<String> SECRETS = List.of("select-secret-7f3a", "commit-secret-9b1c",
      "rollback-secret-44de", "syntax-secret-0c2e", "pgx-secret-51aa", "pgx-update-secret-2d7e",
      "pgx-batch-secret-e0f1", "pgx-syntax-secret-93bd", "redis-secret-c4d2", "redis-key-secret-17ab",
      "redis-missing-secret-8e3f");

  private static final String SELECT_TEXT = "SELECT id, name FROM items WHERE name = ? OR id IN (?) ORDER BY id";
  private static final String INSERT_TEXT = "INSERT INTO items (id, name) VALUES (?, ?)";
  private static final String SYNTAX_TEXT = "SELEC name FROM items WHERE name = ?";

  @TempDir static Path work;
  static DataServers.Postgres pg;
  static DataServers.MariaDb maria;
  static DataServers.Redis redis;
  static OtlpReceiver receiver;
  static AgentProcess agent;
  static GoServer main;
  static GoServer stripped;
  static GoServer go119;
  static GoServer textOff;
  static GoServer textRaw;
  static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  static Path source() {
    return Path.of(System.getProperty("goscope.root", "..")).resolve("dist/src/test/go/datademo");
  }

  @BeforeAll
  static void start() throws Exception {
    BpfAssumptions.assumeBpf();
    GoToolchain modules = GoToolchain.modules().orElse(null);
    DataServers.require(modules != null, "needs a current Go for module builds (GOSCOPE_GO_MODULES or /usr/local/go)");
    DataServers.require(Files.isDirectory(Path.of("/usr/share/gocode/src/github.com/lib/pq"))
        && Files.isDirectory(Path.of("/usr/share/gocode/src/github.com/mattn/go-sqlite3")),
        "needs Debian's golang-github-lib-pq-dev and golang-github-mattn-go-sqlite3-dev");
    ExecutorService starters = Executors.newFixedThreadPool(3);
    Future<DataServers.Postgres> pgF = starters.submit(DataServers.Postgres::start);
    Future<DataServers.MariaDb> mariaF = starters.submit(DataServers.MariaDb::start);
    Future<DataServers.Redis> redisF = starters.submit(DataServers.Redis::start);
    Map<String, String> cgo = Map.of("CGO_ENABLED", "1");
    // mattn/go-sqlite3 against Debian's libsqlite3 (its libsqlite3 tag) instead of compiling the amalgamation: the
    // driver's Go code is the module's; the cold build takes a minute less.
    Path bin = GoBuilder.buildModule(modules, source(), work.resolve("datademo"), List.of("-tags", "libsqlite3"),
        cgo);
    Path binStripped = GoBuilder.buildModule(modules, source(), work.resolve("datademo-stripped"),
        List.of("-tags", "libsqlite3", "-ldflags=-s -w"), cgo);
    Path gopath = Files.createDirectories(work.resolve("gopath"));
    Path bin119 = GoBuilder.build(GoToolchain.installed(), source(), work.resolve("datademo-go119"),
        List.of("-tags", "gopath"), Map.of("CGO_ENABLED", "1", "GOPATH", gopath + ":/usr/share/gocode"));
    Path binOff = GoBuilder.copy(bin, work.resolve("datademo-textoff"));
    Path binRaw = GoBuilder.copy(bin, work.resolve("datademo-textraw"));
    pg = pgF.get();
    maria = mariaF.get();
    redis = redisF.get();
    starters.shutdown();

    Path rules = Files.createDirectories(work.resolve("rules"));
    Files.writeString(rules.resolve("data.yaml"), """
        rules:
          - name: text-off
            match: {executable: "datademo-textoff"}
            options: {probeOptions: {db.query.text: "off"}}
          - name: text-raw
            match: {executable: "datademo-textraw"}
            options: {probeOptions: {db.query.text: "raw"}}
        """);
    receiver = OtlpReceiver.start();
    Map<String, String> env = new HashMap<>(AgentProcess.exportingTo(receiver,
        "datademo,datademo-stripped,datademo-go119"));
    env.put("GOSCOPE_RULES_DIR", rules.toString());
    agent = AgentProcess.start(env);
    agent.awaitLine(l -> l.contains("agent started"), Duration.ofSeconds(60));

    String sqlite = work.resolve("db").toString();
    List<String> all = List.of("-pg", pg.dsn(), "-mysql", maria.dsn(), "-sqlite", sqlite + "-main",
        "-redis", redis.address());
    main = GoServer.start(bin, List.of(), all);
    stripped = GoServer.start(binStripped, List.of(), List.of("-pg", pg.dsn(), "-sqlite", sqlite + "-stripped",
        "-redis", redis.address()));
    go119 = GoServer.start(bin119, List.of(), List.of("-pg", pg.dsn(), "-sqlite", sqlite + "-go119"));
    textOff = GoServer.start(binOff, List.of(), List.of("-pg", pg.dsn(), "-redis", redis.address()));
    textRaw = GoServer.start(binRaw, List.of(), List.of("-pg", pg.dsn()));
    for (GoServer s : List.of(main, stripped, go119, textOff, textRaw)) {
      agent.awaitLine(l -> l.contains("process instrumented pid=" + s.launcherPid()), Duration.ofSeconds(90));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {main, stripped, go119, textOff, textRaw, agent, receiver, pg, maria,
        redis}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          // keep closing the others
        }
      }
    }
  }

  // ---- helpers --------------------------------------------------------------------------------------------------

  private static int get(GoServer s, String path) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
        .timeout(Duration.ofSeconds(30)).build();
    return http.send(r, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static long pidOf(ReceivedSpan s) {
    return (Long) s.resourceAttributes().get("process.pid");
  }

  /** Waits until exactly {@code n} spans match (and nothing more arrives for a moment). */
  private static List<ReceivedSpan> await(Predicate<ReceivedSpan> p, int n) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    List<ReceivedSpan> got = List.of();
    while (System.nanoTime() < deadline) {
      got = receiver.spans().stream().filter(p).toList();
      if (got.size() >= n) {
        Thread.sleep(1500);
        got = receiver.spans().stream().filter(p).toList();
        break;
      }
      Thread.sleep(100);
    }
    assertEquals(n, got.size(), "spans matching; got " + got);
    return got;
  }

  /** A request made by a test: its server, path (with query), and how many client spans it must give. */
  private record Req(GoServer server, String path, int spans) {
    String urlPath() {
      return path.replaceAll("\\?.*", "");
    }
  }

  /**
   * Makes the requests one after another, then waits once for all their spans and returns each request's client
   * spans in start order: the request's server span must be unique (each test requests a path once per server) and
   * its children exactly {@code spans}, in its trace and within its time.
   */
  private static List<List<ReceivedSpan>> requests(Req... reqs) throws Exception {
    for (Req r : reqs) {
      assertEquals(200, get(r.server(), r.path()), r.path());
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    boolean all = false;
    while (!all && System.nanoTime() < deadline) {
      List<ReceivedSpan> spans = receiver.spans();
      all = true;
      for (Req r : reqs) {
        ReceivedSpan server = serverOf(spans, r);
        if (server == null || childrenOf(spans, server).size() < r.spans()) {
          all = false;
          break;
        }
      }
      if (!all) {
        Thread.sleep(100);
      }
    }
    Thread.sleep(1500); // anything extra would arrive now
    List<ReceivedSpan> spans = receiver.spans();
    List<List<ReceivedSpan>> out = new ArrayList<>();
    for (Req r : reqs) {
      long pid = r.server().launcherPid();
      List<ReceivedSpan> servers = spans.stream().filter(x -> x.kind().equals("SERVER") && pidOf(x) == pid
          && r.urlPath().equals(x.attributes().get("url.path"))).toList();
      assertEquals(1, servers.size(), "server spans of " + r.path() + ": " + servers);
      ReceivedSpan server = servers.get(0);
      List<ReceivedSpan> kids = childrenOf(spans, server);
      assertEquals(r.spans(), kids.size(), "client spans under " + r.path() + ": " + kids);
      for (ReceivedSpan c : kids) {
        assertEquals(server.traceId(), c.traceId(), "same trace: " + c);
        assertEquals(pid, pidOf(c));
        assertTrue(c.startEpochNanos() >= server.startEpochNanos() && c.endEpochNanos() <= server.endEpochNanos(),
            "a query lies within its request: " + c + " in " + server);
      }
      out.add(kids);
    }
    return out;
  }

  private static ReceivedSpan serverOf(List<ReceivedSpan> spans, Req r) {
    long pid = r.server().launcherPid();
    return spans.stream().filter(x -> x.kind().equals("SERVER") && pidOf(x) == pid
        && r.urlPath().equals(x.attributes().get("url.path"))).findFirst().orElse(null);
  }

  private static List<ReceivedSpan> childrenOf(List<ReceivedSpan> spans, ReceivedSpan server) {
    List<ReceivedSpan> kids = new ArrayList<>(spans.stream().filter(x -> x.kind().equals("CLIENT")
        && x.parentSpanId().equals(server.spanId())).toList());
    kids.sort(Comparator.comparingLong(ReceivedSpan::startEpochNanos));
    return kids;
  }

  /** One request, and its client spans in start order. */
  private static List<ReceivedSpan> request(GoServer s, String path, int spans) throws Exception {
    return requests(new Req(s, path, spans)).get(0);
  }

  private static void assertSpan(ReceivedSpan s, String name, String operation, String text, boolean error) {
    assertSpan(s, name, operation, text, error ? "" : null);
  }

  /** errorType: the Go type of the error the span must carry, "" for any, null for none. */
  private static void assertSpan(ReceivedSpan s, String name, String operation, String text, String errorType) {
    assertEquals(name, s.name(), s.toString());
    assertEquals(operation, s.attributes().get("db.operation.name"), s.toString());
    assertEquals(text, s.attributes().get("db.query.text"), s.toString());
    assertEquals(errorType != null ? "ERROR" : "UNSET", s.status(), s.toString());
    if (errorType == null) {
      assertNull(s.attributes().get("error.type"), s.toString());
    } else if (errorType.isEmpty()) {
      assertNotNull(s.attributes().get("error.type"), "error.type on " + s);
    } else {
      assertEquals(errorType, s.attributes().get("error.type"), s.toString());
    }
  }

  /** No literal anywhere the receiver got, but in the spans of the process whose rule asks for raw text. */
  private static void assertNoSecrets() {
    long raw = textRaw.launcherPid();
    String everything = receiver.spans().stream().filter(s -> pidOf(s) != raw).toList().toString()
        + receiver.histogramPoints().toString();
    for (String secret : SECRETS) {
      assertFalse(everything.contains(secret), "literal " + secret + " reached the receiver");
    }
  }

  // ---- database/sql ---------------------------------------------------------------------------------------------

  @Test
  @Order(1)
  void databaseSqlTreesForEveryDriver() throws Exception {
    // backend (driver), db.system.name, placeholder, the Go type of the driver's errors
    String[][] backends = {
        {"postgres", "postgresql", "$1", "*pq.Error"}, {"pgx", "postgresql", "$1", "*pgconn.PgError"},
        {"mysql", "mysql", "?", "*mysql.MySQLError"}, {"sqlite3", "sqlite", "?", "sqlite3.Error"},
        {"sqlite", "sqlite", "?", "*sqlite.Error"}};
    List<Req> reqs = new ArrayList<>();
    for (String[] b : backends) {
      String base = "/sql/" + b[0] + "/";
      reqs.add(new Req(main, base + "syntax", 1));
      reqs.add(new Req(main, base + "select", 1));
      reqs.add(new Req(main, base + "commit", 3));
      reqs.add(new Req(main, base + "rollback", 3));
      reqs.add(new Req(main, base + "prepared", 4));
    }
    List<List<ReceivedSpan>> trees = requests(reqs.toArray(Req[]::new));
    for (int i = 0; i < backends.length; i++) {
      String[] b = backends[i];
      List<ReceivedSpan> syntax = trees.get(5 * i);
      assertSpan(syntax.get(0), "SELEC", "SELEC", SYNTAX_TEXT, b[3]);
      List<ReceivedSpan> select = trees.get(5 * i + 1);
      assertSpan(select.get(0), "SELECT items", "SELECT", SELECT_TEXT, false);
      assertEquals("items", select.get(0).attributes().get("db.collection.name"));
      assertEquals("io.goscope.databasesql", select.get(0).scope());

      List<ReceivedSpan> commit = trees.get(5 * i + 2);
      assertSpan(commit.get(0), "BEGIN", "BEGIN", null, false);
      assertSpan(commit.get(1), "INSERT items", "INSERT", INSERT_TEXT, false);
      assertSpan(commit.get(2), "COMMIT", "COMMIT", null, false);

      List<ReceivedSpan> rollback = trees.get(5 * i + 3);
      assertSpan(rollback.get(0), "BEGIN", "BEGIN", null, false);
      assertSpan(rollback.get(1), "INSERT items", "INSERT", INSERT_TEXT, false);
      assertSpan(rollback.get(2), "ROLLBACK", "ROLLBACK", null, false);

      String prepared = "SELECT name FROM items WHERE id = " + b[2];
      List<ReceivedSpan> stmt = trees.get(5 * i + 4);
      assertSpan(stmt.get(0), "PREPARE items", "PREPARE", prepared, false);
      for (int j = 1; j <= 3; j++) {
        assertSpan(stmt.get(j), "SELECT items", "SELECT", prepared, false);
      }
      for (int k = 0; k < 5; k++) {
        for (ReceivedSpan span : trees.get(5 * i + k)) {
          assertEquals(b[1], span.attributes().get("db.system.name"), b[0] + ": " + span);
        }
      }
    }
    assertNoSecrets();
  }

  /** Stripped (offsets from type metadata and the bundled tables) and Debian's Go 1.19 with its lib/pq and sqlite3. */
  @Test
  @Order(2)
  void strippedBinaryAndGo119() throws Exception {
    for (GoServer s : List.of(stripped, go119)) {
      List<List<ReceivedSpan>> t = requests(new Req(s, "/sql/postgres/commit", 3), new Req(s, "/sql/postgres/select", 1),
          new Req(s, "/sql/postgres/syntax", 1), new Req(s, "/sql/sqlite3/prepared", 4),
          new Req(s, "/sql/sqlite3/rollback", 3));
      assertSpan(t.get(0).get(0), "BEGIN", "BEGIN", null, false);
      assertSpan(t.get(0).get(1), "INSERT items", "INSERT", INSERT_TEXT, false);
      assertSpan(t.get(0).get(2), "COMMIT", "COMMIT", null, false);
      assertSpan(t.get(1).get(0), "SELECT items", "SELECT", SELECT_TEXT, false);
      assertSpan(t.get(2).get(0), "SELEC", "SELEC", SYNTAX_TEXT, "*pq.Error");
      assertSpan(t.get(3).get(0), "PREPARE items", "PREPARE", "SELECT name FROM items WHERE id = ?", false);
      assertSpan(t.get(3).get(3), "SELECT items", "SELECT", "SELECT name FROM items WHERE id = ?", false);
      assertSpan(t.get(4).get(2), "ROLLBACK", "ROLLBACK", null, false);
      assertEquals("postgresql", t.get(1).get(0).attributes().get("db.system.name"));
      assertEquals("sqlite", t.get(3).get(0).attributes().get("db.system.name"));
    }
    List<ReceivedSpan> batch = request(stripped, "/pgx/batch", 1);
    assertEquals(3L, batch.get(0).attributes().get("db.operation.batch.size"));
    List<ReceivedSpan> getset = request(stripped, "/redis/getset?id=stripped", 2);
    assertSpan(getset.get(1), "GET", "GET", "GET ?", false);
    assertNoSecrets();
  }

  // ---- pgx ------------------------------------------------------------------------------------------------------

  @Test
  @Order(3)
  void pgxNativeApi() throws Exception {
    List<List<ReceivedSpan>> t = requests(new Req(main, "/pgx/select", 1), new Req(main, "/pgx/exec", 1),
        new Req(main, "/pgx/queryrow", 1), new Req(main, "/pgx/batch", 1), new Req(main, "/pgx/syntax", 1));
    ReceivedSpan select = t.get(0).get(0);
    assertSpan(select, "SELECT items", "SELECT", SELECT_TEXT, false);
    assertEquals("io.goscope.pgx", select.scope());
    for (List<ReceivedSpan> tree : t) {
      ReceivedSpan span = tree.get(0);
      assertEquals("postgresql", span.attributes().get("db.system.name"));
      assertEquals("goscope", span.attributes().get("db.namespace"));
      assertEquals("127.0.0.1", span.attributes().get("server.address"));
      assertEquals((long) pg.port, span.attributes().get("server.port"));
    }
    assertSpan(t.get(1).get(0), "UPDATE items", "UPDATE", "UPDATE items SET name = ? WHERE id = ?", false);
    assertSpan(t.get(2).get(0), "SELECT items", "SELECT", "SELECT name FROM items WHERE id = $1", false);
    ReceivedSpan batch = t.get(3).get(0);
    assertSpan(batch, "BATCH", "BATCH", "SELECT name FROM items WHERE id = ?; UPDATE items SET name = ? WHERE id = ?;"
        + " SELECT count(*) FROM items", false);
    assertEquals(3L, batch.attributes().get("db.operation.batch.size"));
    assertSpan(t.get(4).get(0), "SELEC", "SELEC", SYNTAX_TEXT, "*pgconn.PgError");
    assertNoSecrets();
  }

  // ---- go-redis -------------------------------------------------------------------------------------------------

  @Test
  @Order(4)
  void redisCommandsAndPipelines() throws Exception {
    List<List<ReceivedSpan>> t = requests(new Req(main, "/redis/getset?id=one", 2),
        new Req(main, "/redis/pipeline", 1), new Req(main, "/redis/missing", 1));
    List<ReceivedSpan> getset = t.get(0);
    assertSpan(getset.get(0), "SET", "SET", "SET ? ? ? ?", false);
    assertSpan(getset.get(1), "GET", "GET", "GET ?", false);
    for (List<ReceivedSpan> tree : t) {
      for (ReceivedSpan s : tree) {
        assertEquals("redis", s.attributes().get("db.system.name"));
        assertEquals("3", s.attributes().get("db.namespace"));
        assertEquals("127.0.0.1", s.attributes().get("server.address"));
        assertEquals((long) redis.port, s.attributes().get("server.port"));
        assertEquals("io.goscope.redis", s.scope());
      }
    }
    ReceivedSpan pipeline = t.get(1).get(0);
    assertSpan(pipeline, "PIPELINE", "PIPELINE", "INCR ?; EXPIRE ? ?; GET ?", false);
    assertEquals(3L, pipeline.attributes().get("db.operation.batch.size"));
    // A missing key is go-redis's Nil: a reply, not an error.
    assertSpan(t.get(2).get(0), "GET", "GET", "GET ?", false);
    assertNoSecrets();
  }

  // ---- concurrency ----------------------------------------------------------------------------------------------

  /** 50 concurrent requests of each kind: exactly 50 traces, each with exactly its own client spans. */
  @Test
  @Order(5)
  void concurrentRequestsGiveExactTrees() throws Exception {
    Map<String, Integer> kinds = Map.of("/sql/postgres/commit", 3, "/pgx/batch", 1, "/redis/getset", 2,
        "/sql/mysql/rollback", 3);
    ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT);
    List<Future<Integer>> results = new ArrayList<>();
    for (int i = 0; i < CONCURRENT; i++) {
      for (String path : kinds.keySet()) {
        String p = path + "?c=" + i + (path.startsWith("/redis") ? "&id=c" + i : "");
        results.add(pool.submit(() -> get(main, p)));
      }
    }
    for (Future<Integer> f : results) {
      assertEquals(200, f.get());
    }
    pool.shutdown();
    long pid = main.launcherPid();
    for (Map.Entry<String, Integer> k : kinds.entrySet()) {
      // the tests ordered before this one requested each of these paths once
      List<ReceivedSpan> servers = await(s -> s.kind().equals("SERVER") && pidOf(s) == pid
          && k.getKey().equals(s.attributes().get("url.path")), CONCURRENT + 1);
      Map<String, List<ReceivedSpan>> byParent = receiver.spans().stream().filter(s -> s.kind().equals("CLIENT"))
          .collect(Collectors.groupingBy(ReceivedSpan::parentSpanId));
      assertEquals(servers.size(), servers.stream().map(ReceivedSpan::traceId).distinct().count(), "one trace each");
      for (ReceivedSpan s : servers) {
        List<ReceivedSpan> kids = byParent.getOrDefault(s.spanId(), List.of());
        assertEquals(k.getValue(), kids.size(), k.getKey() + ": children of " + s + ": " + kids);
        for (ReceivedSpan c : kids) {
          assertEquals(s.traceId(), c.traceId());
        }
      }
    }
    assertNoSecrets();
  }

  // ---- the db.query.text rule option ----------------------------------------------------------------------------

  @Test
  @Order(6)
  void queryTextOffAndRaw() throws Exception {
    List<List<ReceivedSpan>> t = requests(new Req(textOff, "/sql/postgres/commit", 3),
        new Req(textOff, "/pgx/select", 1), new Req(textOff, "/redis/pipeline", 1),
        new Req(textRaw, "/sql/postgres/select", 1));
    for (int i = 0; i < 3; i++) {
      for (ReceivedSpan s : t.get(i)) {
        assertNull(s.attributes().get("db.query.text"), "text off: " + s);
        assertNotNull(s.attributes().get("db.operation.name"), s.toString());
      }
    }
    assertEquals("INSERT items", t.get(0).get(1).name());
    assertEquals("SELECT id, name FROM items WHERE name = 'select-secret-7f3a' OR id IN (1, 2, 3) ORDER BY id",
        t.get(3).get(0).attributes().get("db.query.text"), "raw only when a rule asks for it");
    assertNoSecrets();
  }

  // ---- metrics --------------------------------------------------------------------------------------------------

  /** db.client.operation.duration counts every client span of each process (all sampled here). */
  @Test
  @Order(7)
  void histogramCountsEqualSpanCounts() throws Exception {
    for (GoServer s : List.of(main, stripped, go119, textOff)) {
      long pid = s.launcherPid();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      long spans = -1;
      long counted = -2;
      while (System.nanoTime() < deadline) {
        spans = receiver.spans().stream().filter(x -> pidOf(x) == pid && x.kind().equals("CLIENT")
            && x.attributes().containsKey("db.system.name")).count();
        Map<List<Object>, ReceivedHistogramPoint> latest = OtlpReceiver.latestPerSeries(receiver.histogramPoints());
        counted = latest.values().stream().filter(p -> p.name().equals("db.client.operation.duration")
            && Long.valueOf(pid).equals(p.resourceAttributes().get("process.pid")))
            .mapToLong(ReceivedHistogramPoint::count).sum();
        if (spans == counted && spans > 0) {
          break;
        }
        Thread.sleep(250);
      }
      assertTrue(spans > 0);
      assertEquals(spans, counted, "histogram counts equal span counts, pid " + pid);
    }
    List<ReceivedHistogramPoint> points = receiver.histogramPoints().stream()
        .filter(p -> p.name().equals("db.client.operation.duration")).toList();
    for (ReceivedHistogramPoint p : points) {
      assertEquals("s", p.unit());
      assertEquals(List.of(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0), p.explicitBounds());
      assertNull(p.attributes().get("db.query.text"), "low cardinality: no text on the metric");
    }
    assertNoSecrets();
  }
}
