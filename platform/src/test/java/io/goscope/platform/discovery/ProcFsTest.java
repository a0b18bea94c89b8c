package io.goscope.platform.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.goscope.api.ProcessInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcFsTest {
  private static final String ID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  private static final String UID = "1234abcd-5678-90ab-cdef-1234567890ab";

  @TempDir Path tmp;

  // ---- fake tree ----

  @Test
  void readsFakeProcess() throws IOException {
    Path exe = Files.writeString(Files.createDirectories(tmp.resolve("bin")).resolve("server"), "binary");
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    proc.addProcess(4242, 4242, List.of(4242, 7), "we ird) (name", 123456789L, exe,
        List.of("/app/server", "--port=8080", ""), Map.of("APP_ENV", "prod", "EMPTY", ""),
        "0::/kubepods.slice/kubepods-pod" + UID.replace('-', '_') + ".slice/cri-containerd-" + ID + ".scope\n");
    Files.createDirectories(proc.root.resolve("sys"));
    Files.createSymbolicLink(proc.root.resolve("self"), proc.root.resolve("4242"));

    ProcFs fs = new ProcFs(proc.root);
    assertEquals(List.of(4242), fs.listPids());
    ProcessInfo info = fs.process(4242).orElseThrow();
    assertEquals(4242, info.pid());
    assertEquals(List.of(4242, 7), info.namespacePids());
    assertEquals(exe.toString(), info.executable());
    assertEquals("server", info.executableName());
    assertEquals(List.of("/app/server", "--port=8080", ""), info.cmdline());
    assertEquals(Map.of("APP_ENV", "prod", "EMPTY", ""), info.environment());
    assertEquals(123456789L, info.startTimeTicks());
    assertEquals(ID, info.containerId());
    assertEquals(UID, info.podUid());

    ProcessSnapshot snap = fs.snapshot(4242).orElseThrow();
    assertEquals(proc.root.resolve("4242/exe"), snap.exeLink());
    assertEquals(proc.root.resolve("4242/root").resolve(exe.toString().substring(1)), snap.exeViaRoot());
    assertEquals(Files.getAttribute(exe, "unix:ino"), snap.executableKey().inode());
    assertEquals(Files.getAttribute(exe, "unix:dev"), snap.executableKey().device());
    assertFalse(snap.deleted());
  }

  @Test
  void threadsAndKernelThreadsAreNotProcesses() throws IOException {
    Path exe = Files.writeString(tmp.resolve("server"), "x");
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    proc.addProcess(10, 9, List.of(10), "thread", 1, exe, List.of("a"), Map.of(), "0::/\n");
    proc.addProcess(2, 2, List.of(2), "kthreadd", 1, null, List.of(), Map.of(), "0::/\n");
    ProcFs fs = new ProcFs(proc.root);
    assertEquals(Optional.empty(), fs.process(10));
    assertEquals(Optional.empty(), fs.process(2));
    assertEquals(Optional.empty(), fs.snapshot(2));
  }

  @Test
  void vanishedProcessIsEmpty() throws IOException {
    ProcFs fs = new ProcFs(Files.createDirectories(tmp.resolve("proc")));
    assertEquals(Optional.empty(), fs.process(77));
    assertEquals(Optional.empty(), fs.snapshot(77));
    assertEquals(Optional.empty(), fs.cmdline(77));
    assertEquals(Optional.empty(), fs.environ(77));
    assertEquals(Optional.empty(), fs.exeTarget(77));
    assertEquals(Optional.empty(), fs.executableKey(77));
    assertEquals(Optional.empty(), fs.startTime(77));
    assertEquals(Optional.empty(), fs.status(77));
  }

  /**
   * A launcher that execs the application while the process is read (Java's jspawnhelper, runc): the path and command
   * line of one program and the inode of the next would make the host decide about a process that does not exist.
   */
  @Test
  void aProcessThatExecsWhileReadIsReadAgainAsItsNewProgram() throws IOException {
    Path launcher = Files.writeString(tmp.resolve("jspawnhelper"), "launcher");
    Path app = Files.writeString(tmp.resolve("tracedemo"), "app");
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    Path dir = proc.addProcess(31, 31, List.of(31), "jspawnhelper", 5, launcher, List.of(launcher.toString()),
        Map.of(), "0::/\n");
    ProcFs fs = new ProcFs(proc.root);
    int[] execs = {0};
    ProcessSnapshot snap = fs.snapshot(31, () -> {
      if (execs[0]++ == 0) { // exec, once: new exe link and command line
        try {
          Files.delete(dir.resolve("exe"));
          Files.createSymbolicLink(dir.resolve("exe"), app);
          FakeProc.write(dir.resolve("cmdline"), app + "\0-role\0cli\0");
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    }).orElseThrow();
    assertEquals(2, execs[0], "read again after the exec");
    assertEquals(app.toString(), snap.info().executable());
    assertEquals(List.of(app.toString(), "-role", "cli"), snap.info().cmdline());
    assertEquals(Files.getAttribute(app, "unix:ino"), snap.executableKey().inode());
  }

  @Test
  void aProcessThatKeepsExecingIsLeftToItsExecEvent() throws IOException {
    Path a = Files.writeString(tmp.resolve("a"), "a");
    Path b = Files.writeString(tmp.resolve("b"), "b");
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    Path dir = proc.addProcess(32, 32, List.of(32), "a", 5, a, List.of("a"), Map.of(), "0::/\n");
    int[] execs = {0};
    Optional<ProcessSnapshot> snap = new ProcFs(proc.root).snapshot(32, () -> {
      try {
        Files.delete(dir.resolve("exe"));
        Files.createSymbolicLink(dir.resolve("exe"), execs[0]++ % 2 == 0 ? b : a);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertEquals(Optional.empty(), snap);
    assertEquals(ProcFs.SNAPSHOT_ATTEMPTS, execs[0]);
  }

  @Test
  void deletedExecutable() throws IOException {
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    Path exe = Files.writeString(tmp.resolve("app (deleted)"), "x"); // the link target as the kernel shows it
    proc.addProcess(5, 5, List.of(5), "app", 9, exe, List.of("app"), Map.of(), "0::/\n");
    ProcessSnapshot snap = new ProcFs(proc.root).snapshot(5).orElseThrow();
    assertTrue(snap.deleted());
    assertEquals("app", snap.info().executableName());
    assertEquals(proc.root.resolve("5/root").resolve(tmp.resolve("app").toString().substring(1)),
        snap.exeViaRoot());
  }

  @Test
  void environIsBounded() throws IOException {
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    proc.addProcess(6, 6, List.of(6), "big", 1, tmp, List.of("big"), Map.of(), "0::/\n");
    StringBuilder env = new StringBuilder();
    for (int i = 0; env.length() < 3 * ProcFs.MAX_ENVIRON_BYTES; i++) {
      env.append("VAR").append(i).append("=").append("v".repeat(50)).append('\0');
    }
    FakeProc.write(proc.root.resolve("6/environ"), env.toString());
    Map<String, String> read = new ProcFs(proc.root).environ(6).orElseThrow();
    assertTrue(read.size() > 1000 && read.size() < 3000, "entries=" + read.size());
    read.values().forEach(v -> assertEquals(50, v.length()));
  }

  @Test
  void otherReadErrorsNamePidAndFile() throws IOException {
    FakeProc proc = new FakeProc(Files.createDirectories(tmp.resolve("proc")));
    proc.addProcess(8, 8, List.of(8), "x", 1, tmp, List.of("x"), Map.of(), "0::/\n");
    Files.delete(proc.root.resolve("8/environ"));
    Files.createDirectories(proc.root.resolve("8/environ")); // reading it fails with EISDIR
    ProcFsException e = assertThrows(ProcFsException.class, () -> new ProcFs(proc.root).environ(8));
    assertTrue(e.getMessage().startsWith("read " + proc.root.resolve("8/environ") + " pid=8: "), e.getMessage());
  }

  @Test
  void parsesStartTimeWithHostileComm() {
    StringBuilder stat = new StringBuilder("42 (a) b ) (c 1 2) R 1 42 42");
    for (int field = 7; field <= 21; field++) {
      stat.append(" 0");
    }
    stat.append(" 987654321 1 2 3");
    assertEquals(987654321L, ProcFs.parseStartTime(42, stat.toString()));
    assertThrows(ProcFsException.class, () -> ProcFs.parseStartTime(42, "42 (x) R 1"));
    assertThrows(ProcFsException.class, () -> ProcFs.parseStartTime(42, "42 x R 1"));
  }

  @Test
  void statusWithoutNspidFallsBackToPid() {
    assertEquals(new ProcFs.Status(12, List.of(12)), ProcFs.parseStatus(12, "Name:\tx\nTgid:\t12\n"));
    assertEquals(new ProcFs.Status(11, List.of(12, 3, 1)),
        ProcFs.parseStatus(12, "Tgid:\t11\nNSpid:\t12\t3\t1\n"));
  }

  @Test
  void defaultRoot() throws IOException {
    assertEquals(tmp, ProcFs.defaultRoot(Map.of("HOST_PROC", tmp.toString())));
    assertEquals(Path.of("/proc"), ProcFs.defaultRoot(Map.of("HOST_PROC", tmp.resolve("missing").toString())));
    Path expected = Files.isDirectory(Path.of("/host/proc")) ? Path.of("/host/proc") : Path.of("/proc");
    assertEquals(expected, ProcFs.defaultRoot(Map.of()));
  }

  // ---- the real /proc ----

  @Test
  void readsOwnProcessFromRealProc() throws IOException {
    ProcFs fs = new ProcFs(Path.of("/proc"));
    int self = (int) ProcessHandle.current().pid();
    assertTrue(fs.listPids().contains(self));
    ProcessSnapshot snap = fs.snapshot(self).orElseThrow();
    ProcessInfo info = snap.info();
    assertEquals(self, info.namespacePids().get(0));
    assertEquals(ProcessHandle.current().info().command().orElseThrow(), info.executable());
    assertFalse(info.cmdline().isEmpty());
    assertEquals(System.getenv("PATH"), info.environment().get("PATH"));
    assertTrue(info.startTimeTicks() > 0);
    assertEquals(info.startTimeTicks(), fs.startTime(self).orElseThrow());
    assertTrue(Files.exists(snap.exeViaRoot()), snap.exeViaRoot().toString());
    assertEquals(Files.getAttribute(Path.of(info.executable()), "unix:ino"), snap.executableKey().inode());
  }

  @Test
  void listsNoThreads() {
    ProcFs fs = new ProcFs(Path.of("/proc"));
    List<Integer> pids = fs.listPids();
    long self = ProcessHandle.current().pid();
    // The JVM has many threads; none of their tids is listed.
    try (var tasks = Files.list(Path.of("/proc/self/task"))) {
      tasks.map(t -> Integer.parseInt(t.getFileName().toString()))
          .filter(tid -> tid != self)
          .forEach(tid -> assertFalse(pids.contains(tid), "thread " + tid + " listed"));
    } catch (IOException e) {
      fail(e);
    }
  }

  @Test
  void processExitingBetweenListingAndReadingIsEmpty() throws Exception {
    ProcFs fs = new ProcFs(Path.of("/proc"));
    Process p = new ProcessBuilder("sleep", "30").start();
    int pid = (int) p.pid();
    assertTrue(fs.listPids().contains(pid));
    p.destroyForcibly();
    p.waitFor(5, TimeUnit.SECONDS);
    assertEquals(Optional.empty(), fs.process(pid));
    assertEquals(Optional.empty(), fs.snapshot(pid));
    assertEquals(Optional.empty(), fs.environ(pid));
  }

  @Test
  void zombieIsNotAProcess() throws Exception {
    ProcFs fs = new ProcFs(Path.of("/proc"));
    // 'true' becomes a zombie child of 'sleep', which never reaps it.
    Process p = new ProcessBuilder("sh", "-c", "true & exec sleep 30").start();
    try {
      int zombie = -1;
      for (int i = 0; i < 100 && zombie < 0; i++) {
        String children = Files.readString(Path.of("/proc/" + p.pid() + "/task/" + p.pid() + "/children")).trim();
        if (!children.isEmpty()) {
          int child = Integer.parseInt(children.split(" ")[0]);
          String state = Files.readString(Path.of("/proc/" + child + "/stat"));
          if (state.substring(state.lastIndexOf(')') + 2).startsWith("Z")) {
            zombie = child;
          }
        }
        Thread.sleep(20);
      }
      Assumptions.assumeTrue(zombie > 0, "no zombie appeared");
      assertEquals(Optional.empty(), fs.process(zombie));
      assertEquals(Optional.empty(), fs.snapshot(zombie));
    } finally {
      p.destroyForcibly();
      p.waitFor(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void processInOwnPidNamespaceShowsBothPids() throws Exception {
    boolean ci = "true".equals(System.getenv("CI"));
    boolean root = "root".equals(System.getProperty("user.name"));
    if (!root) {
      if (ci) {
        fail("unshare -p needs root (CI=true)");
      }
      Assumptions.abort("unshare -p needs root; user=" + System.getProperty("user.name"));
    }
    Process unshare = new ProcessBuilder("unshare", "-p", "-f", "--mount-proc", "--kill-child", "sleep", "30")
        .redirectErrorStream(true).start();
    try {
      ProcessHandle child = null;
      for (int i = 0; i < 250 && child == null; i++) {
        child = unshare.children().findFirst().orElse(null);
        if (child == null) {
          if (!unshare.isAlive()) {
            String out = new String(unshare.getInputStream().readAllBytes());
            if (ci) {
              fail("unshare failed: " + out);
            }
            Assumptions.abort("unshare failed: " + out);
          }
          Thread.sleep(20);
        }
      }
      if (child == null) {
        fail("unshare started no child");
      }
      int pid = (int) child.pid();
      ProcFs fs = new ProcFs(Path.of("/proc"));
      // The child may still be between fork and exec: wait for sleep.
      ProcessInfo info = null;
      for (int i = 0; i < 250; i++) {
        info = fs.process(pid).orElse(null);
        if (info != null && info.executableName().equals("sleep")) {
          break;
        }
        Thread.sleep(20);
      }
      assertEquals("sleep", info.executableName());
      assertEquals(List.of(pid, 1), info.namespacePids());
      assertEquals(List.of("sleep", "30"), info.cmdline());
    } finally {
      unshare.children().forEach(ProcessHandle::destroyForcibly);
      unshare.destroyForcibly();
      unshare.waitFor(5, TimeUnit.SECONDS);
    }
  }
}
