package io.goscope.e2e;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Assertions;

/**
 * Database servers the data-layer end-to-end tests start for themselves: Debian's PostgreSQL, MariaDB and Redis, each
 * in a fresh directory under /tmp, on loopback and a free port, as the unprivileged system user its package created
 * where the server refuses root. Missing binaries skip the tests, except under {@code CI=true}, where they fail.
 */
final class DataServers {
  private DataServers() {}

  /** Skips (or, under CI=true, fails) with {@code reason}. */
  static void require(boolean ok, String reason) {
    if (ok) {
      return;
    }
    if ("true".equals(System.getenv("CI"))) {
      Assertions.fail(reason + " (required under CI=true; `make test` installs it)");
    }
    Assumptions.abort(reason);
  }

  /** A directory the server's user owns, under /tmp (JUnit's temp dirs are root's and closed to others). */
  static Path ownedDir(String prefix, String user) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), prefix,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    run(List.of("chown", user + ":" + user, dir.toString()), Duration.ofSeconds(10));
    return dir;
  }

  static String run(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + cmd + "\n" + out);
    }
    if (p.exitValue() != 0) {
      throw new IOException("exit " + p.exitValue() + ": " + cmd + "\n" + out);
    }
    return out;
  }

  static void awaitPort(int port, Process process, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (process != null && !process.isAlive()) {
        throw new IOException("server exited with " + process.exitValue() + " before listening on " + port);
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return;
      } catch (IOException e) {
        Thread.sleep(100);
      }
    }
    throw new IOException("nothing listening on 127.0.0.1:" + port + " after " + timeout);
  }

  static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // best effort: a temp dir
    }
  }

  /** PostgreSQL: initdb and pg_ctl as the postgres user; trust authentication on loopback; database goscope. */
  static final class Postgres implements AutoCloseable {
    final int port;
    private final Path dir;
    private final Path bin;

    private Postgres(Path dir, Path bin, int port) {
      this.dir = dir;
      this.bin = bin;
      this.port = port;
    }

    static Path binDir() throws IOException {
      Path root = Path.of("/usr/lib/postgresql");
      if (!Files.isDirectory(root)) {
        return null;
      }
      try (Stream<Path> s = Files.list(root)) {
        return s.map(p -> p.resolve("bin")).filter(p -> Files.isExecutable(p.resolve("pg_ctl")))
            .max(Comparator.comparing(p -> Integer.parseInt(p.getParent().getFileName().toString().replaceAll(
                "\\D", "0")))).orElse(null);
      }
    }

    static Postgres start() throws IOException, InterruptedException {
      Path bin = binDir();
      require(bin != null, "needs Debian's postgresql (initdb, pg_ctl under /usr/lib/postgresql/*/bin)");
      Path dir = ownedDir("goscope-pg", "postgres");
      int port = GoServer.freePort();
      Postgres pg = new Postgres(dir, bin, port);
      try {
        Path data = dir.resolve("data");
        asPostgres(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8"), Duration.ofSeconds(120));
        asPostgres(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-t", "60", "-l",
            dir.resolve("log").toString(), "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1"
                + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            "start"), Duration.ofSeconds(90));
        asPostgres(List.of(bin.resolve("psql").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U",
            "postgres", "-c", "CREATE DATABASE goscope"), Duration.ofSeconds(30));
        return pg;
      } catch (IOException | InterruptedException | RuntimeException e) {
        pg.close();
        throw e;
      }
    }

    private static String asPostgres(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
      List<String> full = new ArrayList<>(List.of("runuser", "-u", "postgres", "--"));
      full.addAll(cmd);
      return run(full, timeout);
    }

    /** A lib/pq and pgx key=value DSN. */
    String dsn() {
      return "host=127.0.0.1 port=" + port + " user=postgres dbname=goscope sslmode=disable";
    }

    @Override
    public void close() throws InterruptedException {
      try {
        asPostgres(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m",
            "immediate", "-w", "stop"), Duration.ofSeconds(30));
      } catch (IOException e) {
        // not running
      }
      deleteTree(dir);
    }
  }

  /** MariaDB: mariadb-install-db and mariadbd as the mysql user, grant tables skipped; database goscope. */
  static final class MariaDb implements AutoCloseable {
    final int port;
    private final Path dir;
    private final Process process;

    private MariaDb(Path dir, Process process, int port) {
      this.dir = dir;
      this.process = process;
      this.port = port;
    }

    static MariaDb start() throws IOException, InterruptedException {
      Path server = Path.of("/usr/sbin/mariadbd");
      Path install = Path.of("/usr/bin/mariadb-install-db");
      require(Files.isExecutable(server) && Files.isExecutable(install),
          "needs Debian's mariadb-server (/usr/sbin/mariadbd, mariadb-install-db)");
      Path dir = ownedDir("goscope-maria", "mysql");
      Path data = dir.resolve("data");
      int port = GoServer.freePort();
      run(List.of(install.toString(), "--no-defaults", "--user=mysql", "--datadir=" + data,
          "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"),
          Duration.ofSeconds(120));
      Process p = new ProcessBuilder(server.toString(), "--no-defaults", "--user=mysql", "--datadir=" + data,
          "--socket=" + dir.resolve("sock"), "--pid-file=" + dir.resolve("pid"), "--port=" + port,
          "--bind-address=127.0.0.1", "--skip-grant-tables", "--skip-name-resolve",
          "--log-error=" + dir.resolve("error.log"), "--innodb-buffer-pool-size=32M", "--max-connections=200",
          "--innodb-flush-log-at-trx-commit=0").redirectErrorStream(true)
          .redirectOutput(dir.resolve("out.log").toFile()).start();
      MariaDb db = new MariaDb(dir, p, port);
      try {
        awaitPort(port, p, Duration.ofSeconds(60));
        run(List.of("mariadb", "--no-defaults", "-h", "127.0.0.1", "-P", Integer.toString(port), "-u", "root",
            "-e", "CREATE DATABASE goscope"), Duration.ofSeconds(30));
        return db;
      } catch (IOException | InterruptedException | RuntimeException e) {
        db.close();
        throw e;
      }
    }

    /** A go-sql-driver/mysql DSN. */
    String dsn() {
      return "root@tcp(127.0.0.1:" + port + ")/goscope";
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      deleteTree(dir);
    }
  }

  /** Redis: redis-server on loopback, no persistence. */
  static final class Redis implements AutoCloseable {
    final int port;
    private final Path dir;
    private final Process process;

    private Redis(Path dir, Process process, int port) {
      this.dir = dir;
      this.process = process;
      this.port = port;
    }

    static Redis start() throws IOException, InterruptedException {
      Path server = Path.of("/usr/bin/redis-server");
      require(Files.isExecutable(server), "needs Debian's redis-server (/usr/bin/redis-server)");
      Path dir = ownedDir("goscope-redis", "redis");
      int port = GoServer.freePort();
      Process p = new ProcessBuilder("runuser", "-u", "redis", "--", server.toString(), "--port",
          Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString(),
          "--daemonize", "no").redirectErrorStream(true).redirectOutput(dir.resolve("out.log").toFile()).start();
      Redis r = new Redis(dir, p, port);
      try {
        awaitPort(port, p, Duration.ofSeconds(30));
        return r;
      } catch (IOException | InterruptedException | RuntimeException e) {
        r.close();
        throw e;
      }
    }

    String address() {
      return "127.0.0.1:" + port;
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      deleteTree(dir);
    }
  }
}
