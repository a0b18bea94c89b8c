package io.goscope.platform.sys;

import static io.goscope.testing.BpfAssumptions.assumeBpf;
import static io.goscope.testing.BpfAssumptions.assumeCommand;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.RecordHeader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tier 2: real load, attach and ring-buffer reads against a Go program built in the test. */
class SysBpfTest {
  private static final int SOURCE_ID = 42;
  private static final long CONSTANT = 0xC0FFEE_12345678L;
  private static final long COOKIE = 0x5EED;
  private static final int TYPE_CALL = 1;
  private static final int TYPE_EXEC = 2;

  private static byte[] object;
  private static Path program;
  private static long workOffset;

  @TempDir Path tmp;

  @BeforeAll
  static void build() throws Exception {
    assumeBpf();
    assumeCommand("clang", "--version");
    assumeCommand(SysTestPrograms.go("version"));
    object = SysTestPrograms.bpfObject();
    program = SysTestPrograms.goProgram();
    workOffset = SysTestPrograms.fileOffset(program, "main.work");
  }

  /** One decoded test_call_record. */
  record Call(RecordHeader header, long arg, long cookie, long constant, int small) {
    static Call decode(ByteBuffer r) {
      RecordHeader h = RecordHeader.peek(r);
      int p = r.position();
      assertEquals(40, r.remaining(), "record size");
      return new Call(h, r.getLong(p + 8), r.getLong(p + 16), r.getLong(p + 24), Byte.toUnsignedInt(r.get(p + 32)));
    }
  }

  private BpfObject openConfigured(BpfMap ring) {
    BpfObject o = BpfObject.open("sys_test", object);
    o.setConstant("goscope_source", SOURCE_ID);
    o.setConstant("test_constant", CONSTANT);
    o.setConstant("test_small_constant", 0xAB);
    o.reuseMap("goscope_events", ring);
    o.load();
    return o;
  }

  private Process startProgram(int calls, Path startFile, int pauseEvery, int pauseMillis) throws IOException {
    Process p = new ProcessBuilder(program.toString(), Integer.toString(calls), startFile.toString(),
        Integer.toString(pauseEvery), Integer.toString(pauseMillis)).redirectErrorStream(true).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    assertEquals("ready", out.readLine());
    return p;
  }

  private static void runToEnd(Process p, Path startFile) throws Exception {
    Files.writeString(startFile, "go");
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "traced program did not finish");
    assertEquals(0, p.exitValue());
    p.getInputStream().close();
  }

  private static void assertCalls(List<Call> calls, int expected, long pid) {
    assertEquals(expected, calls.size(), "records");
    BitSet seen = new BitSet(expected);
    for (Call c : calls) {
      assertEquals(SOURCE_ID, c.header().source());
      assertEquals(TYPE_CALL, c.header().type());
      assertTrue(pid < 0 || c.header().pid() == pid, "pid " + c.header().pid());
      assertEquals(COOKIE, c.cookie());
      assertEquals(CONSTANT, c.constant());
      assertEquals(0xAB, c.small());
      assertTrue(c.arg() >= 0 && c.arg() < expected, "arg " + c.arg());
      seen.set((int) c.arg());
    }
    assertEquals(expected, seen.cardinality(), "every call seen once");
  }

  /** Runs the program under the uprobe and returns what the reader drained after it exited. */
  private List<Call> traceOnce(int calls) throws Exception {
    List<Call> got = new ArrayList<>();
    Path start = Files.createTempFile(tmp, "start", "");
    Files.delete(start);
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_events", 1 << 20);
        BpfObject o = openConfigured(ring)) {
      Process p = startProgram(calls, start, 0, 0);
      try (UprobeLink link = o.attachUprobe("test_uprobe", (int) p.pid(), program.toString(), workOffset, COOKIE);
          RingBufferReader reader = new RingBufferReader(ring)) {
        assertEquals((int) p.pid(), link.pid());
        runToEnd(p, start);
        int n = reader.drain(r -> got.add(Call.decode(r)));
        assertEquals(n, got.size());
        assertEquals(0, reader.drain(r -> got.add(Call.decode(r))), "nothing left after a drain");
        assertEquals(calls, reader.recordsRead());
        assertEquals(0, reader.handlerErrors());
        link.close();
        assertTrue(link.isClosed());
      }
      assertEquals(0, o.map("goscope_lost").sumPerCpuU64(0), "dropped records");
      assertCalls(got, calls, p.pid());
    }
    return got;
  }

  @Test
  void everyCallArrivesOnceWithConstantsCookieAndPidAndNoFdLeaks() throws Exception {
    traceOnce(1000); // warm-up: loads classes, libbpf, and jar fds the JVM opens lazily
    int baseline = SysTestPrograms.openFds();
    List<String> before = SysTestPrograms.fdTargets();
    traceOnce(1000);
    assertEquals(baseline, SysTestPrograms.openFds(),
        () -> "fd leak: before " + before + " after " + uncheckedFdTargets());
  }

  private static List<String> uncheckedFdTargets() {
    try {
      return SysTestPrograms.fdTargets();
    } catch (IOException e) {
      return List.of(e.toString());
    }
  }

  /** The same program through a uprobe-multi link (kernel 6.6): every call, its cookie, for one pid; no fd left. */
  @Test
  void uprobeMultiLinkDeliversEveryCallWithItsCookie() throws Exception {
    java.util.Optional<String> why = BpfFeatures.uprobeMultiUnavailableReason();
    if (why.isPresent()) {
      io.goscope.testing.BpfAssumptions.skipOrFail(why.get());
    }
    int calls = 500;
    int baseline = SysTestPrograms.openFds();
    List<Call> got = new ArrayList<>();
    Path start = tmp.resolve("start-multi");
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_multi", 1 << 20);
        BpfObject o = BpfObject.open("sys_test", object)) {
      o.setConstant("goscope_source", SOURCE_ID);
      o.setConstant("test_constant", CONSTANT);
      o.setConstant("test_small_constant", 0xAB);
      o.reuseMap("goscope_events", ring);
      o.useUprobeMulti();
      o.load();
      Process p = startProgram(calls, start, 0, 0);
      try (UprobeMultiLink link = o.attachUprobeMulti("test_uprobe", (int) p.pid(), program.toString(),
              new long[] {workOffset}, new long[] {COOKIE});
          RingBufferReader reader = new RingBufferReader(ring)) {
        assertEquals(1, link.uprobeCount());
        runToEnd(p, start);
        reader.drain(r -> got.add(Call.decode(r)));
        link.close();
        assertTrue(link.isClosed());
      }
      assertCalls(got, calls, p.pid());
      assertThrows(IllegalStateException.class, () -> o.useUprobeMulti(), "after load");
    }
    assertEquals(baseline, SysTestPrograms.openFds(), "fds");
  }

  /**
   * A call that grows its goroutine's stack runs the function's first instructions twice (morestack starts it over):
   * a uprobe on the first byte fires twice for it, one past the stack-bound check (where the agent puts entry
   * probes, EntrySites) once per call.
   */
  @Test
  void anEntryProbePastTheStackCheckFiresOncePerCallThatGrowsTheStack() throws Exception {
    int calls = 300;
    long entry;
    long site;
    try (io.goscope.platform.gobinary.GoBinary b = io.goscope.platform.gobinary.GoBinary.open(program)) {
      io.goscope.platform.gobinary.GoFunction big = b.function("main.big").orElseThrow();
      entry = big.entryFileOffset();
      site = io.goscope.platform.gobinary.EntrySites.find(b.elf(), big);
    }
    assertTrue(site > entry, "main.big has a stack check");
    assertCalls(traceDeep(calls, site), calls, -1);
    int atFirstByte = traceDeep(calls, entry).size();
    assertTrue(atFirstByte > calls, "a probe on the first byte fires again after morestack: " + atFirstByte);
  }

  /** Runs "sysprobe deep calls" under a uprobe at {@code offset} and returns its records. */
  private List<Call> traceDeep(int calls, long offset) throws Exception {
    List<Call> got = new ArrayList<>();
    Path start = Files.createTempFile(tmp, "start-deep", "");
    Files.delete(start);
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_deep", 1 << 20);
        BpfObject o = openConfigured(ring)) {
      ProcessBuilder pb = new ProcessBuilder(program.toString(), "deep", Integer.toString(calls), start.toString())
          .redirectErrorStream(true);
      pb.environment().put("GODEBUG", "adaptivestackstart=0"); // every goroutine starts with the same stack
      Process p = pb.start();
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("ready", out.readLine());
      try (UprobeLink link = o.attachUprobe("test_uprobe", (int) p.pid(), program.toString(), offset, COOKIE);
          RingBufferReader reader = new RingBufferReader(ring)) {
        runToEnd(p, start);
        reader.drain(r -> got.add(Call.decode(r)));
      }
      assertEquals(0, o.map("goscope_lost").sumPerCpuU64(0), "dropped records");
    }
    return got;
  }

  @Test
  void pollerDrainsASmallRingThatWrapsManyTimes() throws Exception {
    int calls = 3000;
    List<Call> got = java.util.Collections.synchronizedList(new ArrayList<>());
    Path start = tmp.resolve("start-wrap");
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_small", 4 * Libc.pageSize());
        BpfObject o = openConfigured(ring);
        RingBufferReader reader = new RingBufferReader(ring)) {
      Process p = startProgram(calls, start, 50, 3);
      try (UprobeLink link = o.attachUprobe("test_uprobe", (int) p.pid(), program.toString(), workOffset, COOKIE);
          RingBufferPoller poller =
              RingBufferPoller.start(reader, r -> got.add(Call.decode(r)), Duration.ofMillis(1), "test-poller")) {
        runToEnd(p, start);
        Thread.sleep(50);
      }
      assertEquals(0, o.map("goscope_lost").sumPerCpuU64(0), "dropped records");
      assertCalls(got, calls, p.pid());
      assertEquals(0, reader.drain(r -> got.add(Call.decode(r))));
      // The data is mapped once: a record that wraps is copied in two pieces, and arrives whole (assertCalls).
      assertTrue(reader.recordsWrapped() > 0, "no record wrapped around the 4-page ring");
    }
  }

  @Test
  void handlerExceptionsAreCountedAndDoNotStopTheDrain() throws Exception {
    Path start = tmp.resolve("start-err");
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_err", 1 << 16);
        BpfObject o = openConfigured(ring);
        RingBufferReader reader = new RingBufferReader(ring)) {
      Process p = startProgram(10, start, 0, 0);
      try (UprobeLink link = o.attachUprobe("test_uprobe", (int) p.pid(), program.toString(), workOffset, COOKIE)) {
        runToEnd(p, start);
      }
      List<Call> got = new ArrayList<>();
      int n = reader.drain(r -> {
        Call c = Call.decode(r);
        if (c.arg() % 2 == 0) {
          throw new IllegalStateException("boom " + c.arg());
        }
        got.add(c);
      });
      assertEquals(10, n);
      assertEquals(5, reader.handlerErrors());
      assertEquals(5, got.size());
    }
  }

  @Test
  void tracepointSeesExec() throws Exception {
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_exec", 1 << 20);
        BpfObject o = openConfigured(ring);
        RingBufferReader reader = new RingBufferReader(ring);
        BpfLink link = o.attachTracepoint("test_exec", "sched", "sched_process_exec")) {
      assertEquals("tracepoint sched:sched_process_exec", link.target());
      Process p = new ProcessBuilder("/bin/true").start();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      List<RecordHeader> execs = new ArrayList<>();
      reader.drain(r -> execs.add(RecordHeader.peek(r)));
      assertTrue(
          execs.stream().anyMatch(h -> h.type() == TYPE_EXEC && h.pid() == p.pid() && h.source() == SOURCE_ID),
          "exec of pid " + p.pid() + " in " + execs);
    }
  }

  @Test
  void perCpuCountersCanBeWrittenReadAndSummed() throws Exception {
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_pcpu", 1 << 16);
        BpfObject o = openConfigured(ring)) {
      BpfMap dropped = o.map("goscope_lost");
      assertEquals(Libbpf.BPF_MAP_TYPE_PERCPU_ARRAY, dropped.type());
      int cpus = BpfMap.possibleCpus();
      ByteBuffer value = ByteBuffer.allocate(8 * cpus).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < cpus; i++) {
        value.putLong(i + 1);
      }
      byte[] key = {0, 0, 0, 0};
      dropped.update(key, value.array());
      assertEquals((long) cpus * (cpus + 1) / 2, dropped.sumPerCpuU64(0));
      assertEquals(8 * cpus, dropped.lookup(key).orElseThrow().length);
      assertTrue(dropped.lookup(new byte[] {1, 0, 0, 0}).isEmpty() || dropped.sumPerCpuU64(1) == 0);
      assertThrows(BpfException.class, () -> ring.sumPerCpuU64(0));
      assertThrows(IllegalArgumentException.class, () -> dropped.lookup(new byte[3]));
    }
  }

  @Test
  void objectIntrospection() throws Exception {
    try (BpfObject o = BpfObject.open("sys_test", object)) {
      assertEquals(java.util.Set.of("test_uprobe", "test_exec"), o.programNames());
      assertTrue(o.hasConstant("test_constant"));
      assertTrue(o.hasConstant("goscope_source"));
      assertFalse(o.hasConstant("no_such_constant"));
      BpfException e = assertThrows(BpfException.class, () -> o.setConstant("no_such_constant", 1));
      assertEquals("no_such_constant", e.object());
      assertTrue(e.getMessage().contains("no_such_constant"), e.getMessage());
      BpfException m = assertThrows(BpfException.class, () -> o.map("no_such_map"));
      assertTrue(m.getMessage().contains("no_such_map"), m.getMessage());
      BpfException r = assertThrows(BpfException.class,
          () -> o.reuseMap("no_such_map", BpfMap.createRingBuffer("unused", 1 << 16)));
      assertTrue(r.getMessage().contains("no_such_map"), r.getMessage());
      o.close();
      o.close();
    }
  }

  @Test
  void attachErrorsNameWhatIsMissing() throws Exception {
    try (BpfMap ring = BpfMap.createRingBuffer("gs_test_errs", 1 << 16);
        BpfObject o = openConfigured(ring)) {
      BpfException noProgram = assertThrows(BpfException.class,
          () -> o.attachUprobe("no_such_program", -1, program.toString(), workOffset, 0));
      assertEquals("no_such_program", noProgram.object());
      assertTrue(noProgram.getMessage().contains("no_such_program"), noProgram.getMessage());

      BpfException noFile = assertThrows(BpfException.class,
          () -> o.attachUprobe("test_uprobe", -1, "/nonexistent/goscope-bin", 0x1000, 0));
      assertEquals("ENOENT", noFile.errnoName(), noFile.getMessage());
      assertTrue(noFile.getMessage().contains("/nonexistent/goscope-bin"), noFile.getMessage());

      int pid = unusedPid();
      BpfException noPid = assertThrows(BpfException.class,
          () -> o.attachUprobe("test_uprobe", pid, program.toString(), workOffset, 0));
      assertEquals(pid, noPid.pid());
      assertEquals("ESRCH", noPid.errnoName(), noPid.getMessage());
      assertTrue(noPid.getMessage().contains("pid=" + pid), noPid.getMessage());

      BpfException noTracepoint = assertThrows(BpfException.class,
          () -> o.attachTracepoint("test_exec", "sched", "no_such_tracepoint"));
      assertTrue(noTracepoint.getMessage().contains("sched:no_such_tracepoint"), noTracepoint.getMessage());
    }
  }

  @Test
  void verifierRejectionCarriesTheLogTail() throws Exception {
    byte[] bad = SysTestPrograms.bpfObject("sys_test_bad");
    try (BpfObject o = BpfObject.open("sys_test_bad", bad)) {
      BpfException e = assertThrows(BpfException.class, o::load);
      assertEquals("sys_test_bad", e.object());
      assertTrue(e.getMessage().contains("invalid bpf_context access"), e.getMessage());
      assertEquals("EACCES", e.errnoName(), e.getMessage());
    }
  }

  /** The pid of a process that has just exited (pid_max reads oddly through Files on this kernel). */
  private static int unusedPid() throws Exception {
    Process p = new ProcessBuilder("/bin/true").start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    int pid = (int) p.pid();
    assertFalse(Files.exists(Path.of("/proc/" + pid)), "pid " + pid + " still exists");
    return pid;
  }
}
