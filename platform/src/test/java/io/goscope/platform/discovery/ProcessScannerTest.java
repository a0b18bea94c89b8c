package io.goscope.platform.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessScannerTest {
  @TempDir Path tmp;

  /** A proc root with pid 1 ("init") and pid 20 ("a"). */
  private FakeProc initAndA() throws IOException {
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    proc.addProcess(1, 1, List.of(1), "init", 1, null, List.of("init"), Map.of(), "0::/\n");
    proc.addProcess(20, 20, List.of(20), "a", 5, null, List.of("a"), Map.of(), "0::/\n");
    return proc;
  }

  @Test
  void diffsScans() throws IOException {
    FakeProc proc = initAndA();
    ProcessScanner scanner = new ProcessScanner(new ProcFs(proc.root));

    assertEquals(new ProcessScanner.Delta(Set.of(1, 20), Set.of()), scanner.scan());
    assertTrue(scanner.scan().isEmpty());

    proc.addProcess(30, 30, List.of(30), "b", 7, null, List.of("b"), Map.of(), "0::/\n");
    delete(proc.root.resolve("20"));
    assertEquals(new ProcessScanner.Delta(Set.of(30), Set.of(20)), scanner.scan());

    proc.writeStat(30, "c", 99); // pid 30 reused by another process
    assertEquals(new ProcessScanner.Delta(Set.of(30), Set.of(30)), scanner.scan());
    assertEquals(Set.of(1, 30), scanner.known());
  }

  @Test
  void aScanWithoutVerificationSeesNewAndGonePidsButNotReuse() throws IOException {
    FakeProc proc = initAndA();
    ProcessScanner scanner = new ProcessScanner(new ProcFs(proc.root));
    assertEquals(new ProcessScanner.Delta(Set.of(1, 20), Set.of()), scanner.scan(false));

    proc.addProcess(30, 30, List.of(30), "b", 7, null, List.of("b"), Map.of(), "0::/\n");
    delete(proc.root.resolve("20"));
    proc.writeStat(1, "init2", 50); // pid 1 reused: only a verifying scan can tell
    assertEquals(new ProcessScanner.Delta(Set.of(30), Set.of(20)), scanner.scan(false));
    assertEquals(new ProcessScanner.Delta(Set.of(1), Set.of(1)), scanner.scan(true));
    assertTrue(scanner.scan(false).isEmpty());
  }

  @Test
  void seesRealProcessStartAndExit() throws Exception {
    ProcessScanner scanner = new ProcessScanner(new ProcFs(Path.of("/proc")));
    scanner.scan();
    Process p = new ProcessBuilder("sleep", "30").start();
    int pid = (int) p.pid();
    assertTrue(scanner.scan().started().contains(pid));
    p.destroyForcibly();
    p.waitFor(5, TimeUnit.SECONDS);
    assertTrue(scanner.scan().exited().contains(pid));
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
