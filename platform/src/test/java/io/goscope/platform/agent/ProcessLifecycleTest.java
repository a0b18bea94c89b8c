package io.goscope.platform.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import io.goscope.platform.discovery.ExecutableKey;
import io.goscope.platform.discovery.ProcFsException;
import io.goscope.platform.discovery.ProcessSnapshot;
import io.goscope.platform.instrument.BinaryAnalyzer;
import io.goscope.platform.instrument.HostMaps.ProcessSettings;
import io.goscope.platform.instrument.ProbePlan;
import io.goscope.platform.instrument.ProbeSetRuntime;
import io.goscope.platform.rules.RuleOptions;
import io.goscope.platform.rules.Selection;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The process life cycle with fakes for /proc, the rules, binary analysis, the kernel and telemetry: every decision
 * path without root. The fakes record what the life cycle asked of the kernel and the telemetry routing, in order.
 */
class ProcessLifecycleTest {
  private final FakeProcesses procs = new FakeProcesses();
  private final FakeRules rules = new FakeRules();
  private final FakeBinaries bins = new FakeBinaries();
  private final FakeKernel kernel = new FakeKernel();
  private final FakeTelemetry telemetry = new FakeTelemetry();
  private final FakeScheduler scheduler = new FakeScheduler();
  private final List<Runnable> detaches = new ArrayList<>();
  private final List<AgentEvent> events = new ArrayList<>();
  private final ProcessLifecycle lifecycle = ProcessLifecycle.builder()
      .processes(procs).rules(rules).binaries(bins).kernel(kernel).telemetry(telemetry).scheduler(scheduler)
      .detacher(detaches::add).events(events::add).fileWatch(this::watch).drainDelayMillis(2_000).build();
  /** Files watched now, with what to call when one changes. */
  private final Map<Path, Runnable> watched = new HashMap<>();

  private AutoCloseable watch(Path file, Runnable onChange) {
    watched.put(file, onChange);
    return () -> watched.remove(file);
  }

  // ---- fakes ------------------------------------------------------------------------------------------------

  private static final class FakeProcesses implements ProcessLifecycle.Processes {
    final Map<Integer, ProcessSnapshot> live = new HashMap<>();
    final Set<Integer> unreadable = new HashSet<>();
    /** Runs when the life cycle asks for the executable key after analysis (an exec or exit "during" analysis). */
    Runnable duringAnalysis = () -> { };

    void start(int pid, String exe, long start, ExecutableKey key) {
      ProcessInfo info = new ProcessInfo(pid, List.of(pid), exe, List.of(exe), Map.of(), start, null, null);
      live.put(pid, new ProcessSnapshot(info, key, Path.of("/proc/" + pid + "/root" + exe),
          Path.of("/proc/" + pid + "/exe"), false));
    }

    @Override
    public Optional<ProcessSnapshot> snapshot(int pid) {
      if (unreadable.contains(pid)) {
        throw new ProcFsException("read /proc/" + pid + "/exe: EACCES", null);
      }
      return Optional.ofNullable(live.get(pid));
    }

    @Override
    public boolean isAlive(int pid) {
      return live.containsKey(pid);
    }

    @Override
    public Optional<ExecutableKey> executableKey(int pid) {
      duringAnalysis.run();
      duringAnalysis = () -> { };
      return Optional.ofNullable(live.get(pid)).map(ProcessSnapshot::executableKey);
    }

    @Override
    public Collection<Integer> known() {
      return new ArrayList<>(live.keySet());
    }

    @Override
    public Optional<List<String>> cmdline(int pid) {
      return Optional.ofNullable(live.get(pid)).map(s -> s.info().cmdline());
    }

    @Override
    public Optional<Long> startTime(int pid) {
      return Optional.ofNullable(live.get(pid)).map(s -> s.info().startTimeTicks());
    }
  }

  private static final class FakeRules implements ProcessLifecycle.Rules {
    Predicate<ProcessInfo> selected = p -> p.executable().contains("app");
    RuleOptions options = RuleOptions.DEFAULT;

    @Override
    public Optional<WorkloadMetadata> describe(ProcessInfo info) {
      return Optional.empty();
    }

    @Override
    public Optional<Selection> select(ProcessInfo info, Optional<WorkloadMetadata> metadata) {
      return selected.test(info) ? Optional.of(new Selection("rule-app", options)) : Optional.empty();
    }
  }

  private static final class FakeBinaries implements ProcessLifecycle.Binaries {
    boolean perBinary = true;
    long lingerMillis;
    final Map<ExecutableKey, Integer> analyses = new HashMap<>();
    RuntimeException analysisFailure;

    @Override
    public Optional<Boolean> isGo(ProcessSnapshot s) {
      return Optional.of(!s.info().executable().endsWith(".sh"));
    }

    @Override
    public ProcessLifecycle.Target locate(ProcessSnapshot s) {
      return new ProcessLifecycle.Target(Path.of(s.info().executable()), s.exeLink(), "fake", s.executableKey(),
          perBinary, lingerMillis);
    }

    @Override
    public BinaryAnalyzer.Analysis analyze(ProcessLifecycle.Target target) {
      if (analysisFailure != null) {
        throw analysisFailure;
      }
      analyses.merge(target.key(), 1, Integer::sum);
      Map<ProbeSetRuntime, ProbePlan> plans = new LinkedHashMap<>();
      return new BinaryAnalyzer.Analysis("go1.22.1", "build-" + target.key().inode(), plans, 1);
    }
  }

  /** What the kernel side was asked, as lines ("attach binary=1 pid=-1", "select 10", ...). */
  private static final class FakeKernel implements ProcessLifecycle.Kernel {
    final List<String> calls = new ArrayList<>();
    final Map<Integer, ProcessSettings> selected = new TreeMap<>();
    final Set<Integer> declined = new HashSet<>();
    final Map<Integer, Boolean> published = new TreeMap<>();
    final List<FakeAttachment> attachments = new ArrayList<>();
    RuntimeException attachFailure;
    Runnable onAttach = () -> { };

    @Override
    public ProcessLifecycle.Attachment attach(int binaryId, int pid, ProcessLifecycle.Target target,
        Map<ProbeSetRuntime, ProbePlan> plans, Set<String> features) {
      calls.add("attach binary=" + binaryId + " pid=" + pid);
      onAttach.run();
      if (attachFailure != null) {
        throw attachFailure;
      }
      FakeAttachment a = new FakeAttachment(binaryId, pid, features);
      attachments.add(a);
      return a;
    }

    @Override
    public void select(int pid, ProcessSettings settings) {
      calls.add("select " + pid);
      selected.put(pid, settings);
      declined.remove(pid);
    }

    @Override
    public void decline(int pid) {
      calls.add("decline " + pid);
      declined.add(pid);
      selected.remove(pid);
    }

    @Override
    public void forget(int pid) {
      calls.add("forget " + pid);
      selected.remove(pid);
      declined.remove(pid);
    }

    @Override
    public void publishBinary(int binaryId, ProcessSettings settings, boolean selectNew) {
      calls.add("publish " + binaryId);
      published.put(binaryId, selectNew);
    }

    @Override
    public void unpublishBinary(int binaryId) {
      calls.add("unpublish " + binaryId);
      published.remove(binaryId);
    }

    long open() {
      return attachments.stream().filter(a -> !a.closed).count();
    }
  }

  private static final class FakeAttachment implements ProcessLifecycle.Attachment {
    final int binaryId;
    final int pid;
    final Set<String> features;
    boolean closed;

    FakeAttachment(int binaryId, int pid, Set<String> features) {
      this.binaryId = binaryId;
      this.pid = pid;
      this.features = new HashSet<>(features);
    }

    @Override
    public Map<String, Integer> uprobesBySet() {
      return Map.of("nethttp", 3);
    }

    @Override
    public List<String> failures() {
      return List.of();
    }

    @Override
    public Set<String> features() {
      return Set.copyOf(features);
    }

    @Override
    public String enable(String feature) {
      features.add(feature);
      return null;
    }

    @Override
    public void close(Runnable beforeEachLink) {
      beforeEachLink.run();
      closed = true;
    }
  }

  private static final class FakeTelemetry implements ProcessLifecycle.Telemetry {
    final Map<Integer, ProcessLifecycle.TracedIdentity> routes = new TreeMap<>();
    final List<String> calls = new ArrayList<>();

    @Override
    public void route(int pid, ProcessLifecycle.TracedIdentity identity) {
      calls.add("route " + pid);
      routes.put(pid, identity);
    }

    @Override
    public void unroute(int pid, ProcessLifecycle.TracedIdentity identity) {
      calls.add("unroute " + pid);
      routes.remove(pid);
    }
  }

  /** Delayed tasks run when the test says so. */
  private static final class FakeScheduler implements ProcessLifecycle.Scheduler {
    final List<long[]> due = new ArrayList<>();
    final List<Runnable> tasks = new ArrayList<>();

    @Override
    public void schedule(Runnable task, long delayMillis) {
      tasks.add(task);
    }

    void runAll() {
      List<Runnable> now = new ArrayList<>(tasks);
      tasks.clear();
      now.forEach(Runnable::run);
    }
  }

  private static ExecutableKey key(long inode) {
    return new ExecutableKey(1, inode, 1000);
  }

  private void runDetaches() {
    List<Runnable> now = new ArrayList<>(detaches);
    detaches.clear();
    now.forEach(Runnable::run);
  }

  // ---- tests ------------------------------------------------------------------------------------------------

  @Test
  void selectedGoProcessIsAttachedOnceForItsBinaryAndRouted() {
    procs.start(10, "/srv/app", 100, key(7));
    lifecycle.consider(10, false, 0);
    assertEquals(List.of("select 10", "attach binary=1 pid=-1", "publish 1"), kernel.calls);
    assertTrue(telemetry.routes.containsKey(10));
    assertTrue(kernel.published.get(1), "a binary whose processes are all selected alike is published");
    assertTrue(lifecycle.isTraced(10));
    assertEquals(AgentEvent.Kind.ATTACHED, events.get(0).kind());
  }

  @Test
  void aSecondProcessOfTheSameBinaryNeedsNoAttach() {
    procs.start(10, "/srv/app", 100, key(7));
    procs.start(11, "/srv/app", 101, key(7));
    lifecycle.consider(10, false, 0);
    lifecycle.consider(11, false, 0);
    assertEquals(1, kernel.attachments.size(), "one attachment for the binary");
    assertEquals(1, bins.analyses.get(key(7)), "analysed once");
    assertEquals(Set.of(10, 11), kernel.selected.keySet());
    assertEquals(1, lifecycle.attachesAvoided());
    assertEquals(1, lifecycle.reattachments(), "the same app again counts as a re-attach");
  }

  @Test
  void processesOfAnOverlayRootAreAttachedOneByOne() {
    bins.perBinary = false;
    procs.start(10, "/srv/app", 100, key(7));
    procs.start(11, "/srv/app", 101, key(7));
    lifecycle.consider(10, false, 0);
    lifecycle.consider(11, false, 0);
    assertEquals(List.of("attach binary=0 pid=10", "attach binary=0 pid=11"),
        kernel.calls.stream().filter(c -> c.startsWith("attach")).toList());
    assertFalse(kernel.calls.stream().anyMatch(c -> c.startsWith("publish")));
  }

  @Test
  void notSelectedAndNotGoAreDeclinedAndDecidedOnce() {
    procs.start(20, "/usr/bin/other", 100, key(8));
    procs.start(21, "/srv/app.sh", 100, key(9));
    lifecycle.consider(20, false, 0);
    lifecycle.consider(21, false, 0);
    lifecycle.consider(21, false, 0); // the same incarnation: not decided again
    assertEquals(List.of(), kernel.calls);
    assertFalse(lifecycle.isTraced(20));
    assertFalse(lifecycle.isTraced(21));
  }

  @Test
  void exitDetachesAndTheLastProcessTakesTheBinaryWithIt() {
    procs.start(10, "/srv/app", 100, key(7));
    lifecycle.consider(10, false, 0);
    procs.live.remove(10);
    lifecycle.exited(10);
    assertFalse(lifecycle.isTraced(10));
    assertTrue(kernel.calls.containsAll(List.of("forget 10", "unpublish 1")));
    assertEquals(1, kernel.open(), "uprobes go on the detach thread");
    runDetaches();
    assertEquals(0, kernel.open());
    assertTrue(telemetry.routes.containsKey(10), "records still in the ring buffer are routed");
    scheduler.runAll();
    assertFalse(telemetry.routes.containsKey(10), "then the route goes");
  }

  @Test
  void pidReuseDetachesTheOldIncarnationFirst() {
    procs.start(10, "/srv/app", 100, key(7));
    lifecycle.consider(10, false, 0);
    procs.start(10, "/srv/app", 555, key(7)); // same pid, new start time
    lifecycle.consider(10, false, 0);
    assertEquals(List.of("select 10", "attach binary=1 pid=-1", "publish 1", "forget 10", "unpublish 1",
        "select 10", "attach binary=2 pid=-1", "publish 2"), kernel.calls);
    assertTrue(lifecycle.isTraced(10));
    runDetaches();
    assertEquals(1, kernel.open(), "the old binary attachment is gone, the new one stays");
  }

  @Test
  void execDuringAnalysisDecidesAboutTheNewProgram() {
    procs.start(10, "/srv/app", 100, key(7));
    procs.duringAnalysis = () -> procs.start(10, "/usr/bin/other", 100, key(8)); // exec'd a program not selected
    lifecycle.consider(10, false, 0);
    assertEquals(List.of(), kernel.calls, "nothing attached to the program it no longer runs");
    assertFalse(lifecycle.isTraced(10));
  }

  @Test
  void exitDuringAnalysisLeavesNothingBehind() {
    procs.start(10, "/srv/app", 100, key(7));
    procs.duringAnalysis = () -> procs.live.remove(10);
    lifecycle.consider(10, false, 0);
    assertEquals(List.of(), kernel.calls);
    assertTrue(telemetry.routes.isEmpty());
  }

  @Test
  void exitDuringAttachIsNotAFailure() {
    procs.start(10, "/srv/app", 100, key(7));
    // The attach fails because the process is gone by then.
    kernel.onAttach = () -> procs.live.remove(10);
    kernel.attachFailure = new RuntimeException("attach uprobe pid=10: ESRCH");
    lifecycle.consider(10, false, 0);
    assertEquals(0, lifecycle.attachFailures(), "a process that exited is not an attach failure");
    assertTrue(telemetry.routes.isEmpty(), "its route is removed");
    assertFalse(kernel.selected.containsKey(10));
  }

  @Test
  void failedAttachIsCountedAndDecidedOnce() {
    procs.start(10, "/srv/app", 100, key(7));
    kernel.attachFailure = new RuntimeException("load BPF object: EPERM");
    lifecycle.consider(10, false, 0);
    lifecycle.consider(10, false, 0);
    assertEquals(1, lifecycle.attachFailures());
    assertEquals(1, kernel.calls.stream().filter(c -> c.startsWith("attach")).count(), "not retried per event");
    assertFalse(kernel.selected.containsKey(10), "selected only while traced");
    kernel.attachFailure = null;
    lifecycle.reconcile(); // the reconcile tries again
    assertTrue(lifecycle.isTraced(10));
  }

  @Test
  void analysisFailureIsDeclinedWithItsReason() {
    procs.start(10, "/srv/app", 100, key(7));
    bins.analysisFailure = new IllegalArgumentException("not a Go binary: no .gopclntab");
    lifecycle.consider(10, false, 0);
    assertEquals(1, lifecycle.attachFailures());
    assertEquals(List.of(), kernel.calls);
  }

  @Test
  void detachBeforeReattachKeepsTheBinaryWhileAnotherProcessRunsIt() {
    procs.start(10, "/srv/app", 100, key(7));
    procs.start(11, "/srv/app", 101, key(7));
    lifecycle.consider(10, false, 0);
    lifecycle.consider(11, false, 0);
    procs.live.remove(10);
    lifecycle.exited(10);
    runDetaches();
    assertEquals(1, kernel.open(), "process 11 still runs the binary");
    procs.start(12, "/srv/app", 102, key(7)); // the restarted replica
    lifecycle.consider(12, false, 0);
    assertEquals(1, kernel.attachments.size(), "no attach for the restart");
    assertTrue(lifecycle.isTraced(12));
  }

  @Test
  void ruleChangeDeselectsAndTheKernelDeclinesTheStillRunningProcess() {
    procs.start(10, "/srv/app", 100, key(7));
    procs.start(11, "/srv/app", 101, key(7));
    lifecycle.consider(10, false, 0);
    lifecycle.consider(11, false, 0);
    rules.selected = p -> p.pid() == 11; // the rules now select 11 only
    lifecycle.reconcile();
    assertFalse(lifecycle.isTraced(10));
    assertTrue(lifecycle.isTraced(11));
    assertTrue(kernel.declined.contains(10), "its probe hits on the shared binary record nothing");
    assertFalse(kernel.published.containsKey(1), "new processes of the binary wait for the host's decision now");
  }

  @Test
  void ruleOptionsChangeReachesTheKernelAndTheRoute() {
    procs.start(10, "/srv/app", 100, key(7));
    lifecycle.consider(10, false, 0);
    rules.options = new RuleOptions("checkout", null, 0.25, Map.of(), true, Map.of());
    lifecycle.reconcile();
    assertEquals(0.25, kernel.selected.get(10).sampling());
    assertTrue(kernel.selected.get(10).propagate());
    assertEquals("checkout", telemetry.routes.get(10).selection().options().serviceName());
    assertTrue(kernel.attachments.get(0).features.contains("propagation"), "propagation probes attached");
  }

  @Test
  void differentSettingsForProcessesOfOneBinaryUnpublishIt() {
    procs.start(10, "/srv/app-a", 100, key(7));
    lifecycle.consider(10, false, 0);
    assertTrue(kernel.published.get(1));
    rules.options = new RuleOptions(null, null, 0.5, Map.of(), false, Map.of());
    procs.start(11, "/srv/app-b", 101, key(7)); // same file, another rule's settings
    lifecycle.consider(11, false, 0);
    assertFalse(kernel.published.containsKey(1), "a new process would get the wrong settings: wait for the host");
  }

  @Test
  void aProcessGoneBeforeTheHostCouldReadItIsTracedAsItsBinarysProcesses() {
    procs.start(10, "/srv/cli-app", 100, key(7));
    lifecycle.consider(10, false, 0);
    // The kernel selected pid 30 by its binary's cookie; it exited before /proc could be read.
    lifecycle.provisionallySelected(30, 1, 0);
    ProcessLifecycle.TracedIdentity id = telemetry.routes.get(30);
    assertEquals(30, id.info().pid());
    assertEquals("/srv/cli-app", id.info().executable());
    scheduler.runAll();
    assertFalse(telemetry.routes.containsKey(30), "routed until its records were drained");
    assertTrue(kernel.calls.contains("forget 30"));
  }

  @Test
  void aProvisionalProcessThatTheRulesDeclineIsDeclinedInTheKernel() {
    procs.start(10, "/srv/app", 100, key(7));
    lifecycle.consider(10, false, 0);
    procs.start(31, "/srv/other", 100, key(7)); // same file under another name the rules do not select
    lifecycle.provisionallySelected(31, 1, 0);
    assertFalse(lifecycle.isTraced(31));
    assertTrue(kernel.declined.contains(31));
    assertFalse(telemetry.routes.containsKey(31));
  }

  @Test
  void unreadableProcessIsNotTracedAndNothingThrows() {
    procs.start(40, "/srv/app", 100, key(7));
    procs.unreadable.add(40);
    lifecycle.consider(40, false, 0);
    assertFalse(lifecycle.isTraced(40));
    assertEquals(List.of(), kernel.calls);
  }

  @Test
  void rewrittenFileLosesItsOldUprobesBeforeTheNewOnesGoOn() {
    procs.start(10, "/srv/app", 100, new ExecutableKey(1, 7, 1000));
    lifecycle.consider(10, false, 0);
    procs.start(11, "/srv/app", 101, new ExecutableKey(1, 7, 2000)); // same inode, new mtime
    lifecycle.consider(11, false, 0);
    assertFalse(lifecycle.isTraced(10), "the process of the old content is detached with it");
    assertTrue(kernel.attachments.get(0).closed || detaches.size() > 0);
    runDetaches();
    assertTrue(kernel.attachments.get(0).closed, "stale offsets removed");
    assertEquals(2, kernel.attachments.size());
  }

  @Test
  void aLingeringBinaryServesItsRestartedProcessWithoutAnAttach() {
    bins.lingerMillis = 10_000;
    procs.start(10, "/srv/app", 100, key(7));
    lifecycle.consider(10, false, 0);
    procs.live.remove(10);
    lifecycle.exited(10);
    runDetaches();
    assertEquals(1, kernel.open(), "kept while it lingers");
    assertTrue(watched.containsKey(Path.of("/srv/app")), "its file is watched meanwhile");
    procs.start(11, "/srv/app", 200, key(7)); // the restart
    lifecycle.consider(11, false, 0);
    assertEquals(1, kernel.attachments.size(), "no attach for the restart");
    assertFalse(watched.containsKey(Path.of("/srv/app")), "not watched while a process runs it");
    procs.live.remove(11);
    lifecycle.exited(11);
    scheduler.runAll(); // the linger ends
    runDetaches();
    assertEquals(0, kernel.open());
  }

  @Test
  void aLingeringBinaryWhoseFileChangesIsDetachedAtOnce() {
    bins.lingerMillis = 10_000;
    procs.start(10, "/srv/app", 100, key(7));
    lifecycle.consider(10, false, 0);
    procs.live.remove(10);
    lifecycle.exited(10);
    watched.get(Path.of("/srv/app")).run(); // written in place
    scheduler.runAll();
    runDetaches();
    assertEquals(0, kernel.open(), "uprobes at stale offsets must not meet the rewritten file");
    assertEquals(0, lifecycle.binaryCount());
  }

  @Test
  void closeAllDetachesEverything() {
    procs.start(10, "/srv/app", 100, key(7));
    procs.start(11, "/srv/app", 101, key(8));
    bins.perBinary = false;
    lifecycle.consider(11, false, 0);
    bins.perBinary = true;
    lifecycle.consider(10, false, 0);
    lifecycle.closeAll();
    runDetaches();
    assertEquals(0, kernel.open());
    assertEquals(0, lifecycle.instrumentedCount());
  }
}
