package io.goscope.platform.agent;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FunctionProbe;
import io.goscope.api.Nullable;
import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import io.goscope.platform.discovery.ExecutableKey;
import io.goscope.platform.discovery.ProcFsException;
import io.goscope.platform.discovery.ProcessSnapshot;
import io.goscope.platform.instrument.BinaryAnalyzer;
import io.goscope.platform.instrument.GoroutineProbeSet;
import io.goscope.platform.instrument.HostMaps.ProcessSettings;
import io.goscope.platform.instrument.ProbePlan;
import io.goscope.platform.instrument.ProbeSetRuntime;
import io.goscope.platform.rules.RuleOptions;
import io.goscope.platform.rules.Selection;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The life cycle of every process on the node: consider (is it selected, is it Go), analyse its binary, attach,
 * detach, reconcile. Decisions are made here; the work behind them (reading /proc, matching rules, analysing ELF,
 * loading BPF, routing telemetry) is behind the small interfaces below, so that every path — pid reuse, an exec
 * during analysis, an exit during attach, a failed attach, a detach before a re-attach, a rule change that deselects
 * — is unit-tested with fakes, without root.
 *
 * <p>Binaries are attached once for all their processes when their file is the same inode for all of them (the
 * shared binaries directory, or a host file system; {@link Target#perBinary()}): a restarted or scaled-up process of
 * such a binary needs no attach at all, only its entry in the kernel's table of selected processes, and the binary
 * is published so that its processes are traced from their first probe hit, before the host has even read /proc
 * (a CLI that exits within milliseconds is traced too). Other binaries (a container's overlay root, whose inode
 * differs between containers) are attached per process. A binary attached for all processes lingers after its last
 * process exits ({@link Target#lingerMillis()}: long for the platform-managed shared directory, short for other host
 * files), so that the next process of it starts traced, while a watch on the file detaches it at once if the file is
 * written: a rewritten binary must never meet uprobes at its old offsets.
 *
 * <p>Not thread-safe: the agent calls every method on its one discovery thread. Closing attachments (each uprobe
 * removal waits for a kernel grace period) runs on the given detach executor.
 */
public final class ProcessLifecycle {
  private static final Logger log = LoggerFactory.getLogger(ProcessLifecycle.class);
  private static final int MAX_SEEN_APPS = 65536;

  // ---- the interfaces the life cycle works through -----------------------------------------------------------

  /** The host's processes, as /proc tells them. */
  public interface Processes {
    /**
     * A snapshot of the process, empty when it is gone.
     *
     * @throws ProcFsException when its entries cannot be read
     */
    Optional<ProcessSnapshot> snapshot(int pid);

    boolean isAlive(int pid);

    Optional<ExecutableKey> executableKey(int pid);

    /** Every process known now, for the reconcile. */
    Collection<Integer> known();

    Optional<List<String>> cmdline(int pid);

    Optional<Long> startTime(int pid);
  }

  /** The rules and the metadata they match on. */
  public interface Rules {
    Optional<WorkloadMetadata> describe(ProcessInfo info);

    Optional<Selection> select(ProcessInfo info, Optional<WorkloadMetadata> metadata);
  }

  /** Reading binaries: is it Go, where to attach, the analysis. */
  public interface Binaries {
    /** Empty when the executable cannot be read. */
    Optional<Boolean> isGo(ProcessSnapshot s);

    Target locate(ProcessSnapshot s);

    /** Throws naming the file when it is not a usable Go binary. */
    BinaryAnalyzer.Analysis analyze(Target target);
  }

  /**
   * Where a process's binary is read and attached.
   *
   * @param key identity of the attached file (device, inode, mtime)
   * @param perBinary whether a uprobe on this path reaches exactly this file for every process that runs it, so
   *     one attachment serves them all
   * @param lingerMillis how long the attachment may outlive the binary's last process, so that its next process
   *     (a restart) needs no attach (0: detached with its last process); a change to the file ends it at once
   */
  public record Target(Path attachPath, Path readPath, String reason, ExecutableKey key, boolean perBinary,
                       long lingerMillis) {
    public Target {
      requireNonNull(attachPath, "attachPath");
      requireNonNull(readPath, "readPath");
      requireNonNull(reason, "reason");
      requireNonNull(key, "key");
    }
  }

  /** The kernel side: attachments and the table of selected processes and published binaries. */
  public interface Kernel {
    /**
     * Attaches the plans to a binary for every process (pid -1) or one process.
     *
     * @throws RuntimeException naming what failed when nothing attached
     */
    Attachment attach(int binaryId, int pid, Target target, Map<ProbeSetRuntime, ProbePlan> plans,
        Set<String> features);

    void select(int pid, ProcessSettings settings);

    void decline(int pid);

    void forget(int pid);

    void publishBinary(int binaryId, ProcessSettings settings, boolean selectNew);

    void unpublishBinary(int binaryId);
  }

  /** Attached uprobes. */
  public interface Attachment {
    Map<String, Integer> uprobesBySet();

    List<String> failures();

    Set<String> features();

    /** Attaches an optional feature's probes; returns why it cannot, or null. */
    @Nullable
    String enable(String feature);

    /** Detaches; {@code beforeEachLink} runs before each uprobe goes. */
    void close(Runnable beforeEachLink);
  }

  /** Where the records of a traced process go. */
  public interface Telemetry {
    /** Starts routing the process's records with this identity (replaces an earlier route of the pid). */
    void route(int pid, TracedIdentity identity);

    /** Stops routing the process's records (after the records already in the ring buffer were drained). */
    void unroute(int pid, TracedIdentity identity);
  }

  /**
   * Who a traced process is, for its telemetry.
   *
   * @param info the process
   * @param goVersion its Go version
   * @param metadata its workload, when known
   * @param selection the rule that selected it and the rule's options
   * @param analysis its binary's analysis (error type names, PIE), or null when unknown
   */
  public record TracedIdentity(ProcessInfo info, String goVersion, Optional<WorkloadMetadata> metadata,
                               Selection selection, @Nullable BinaryAnalyzer.Analysis analysis) {}

  /** Schedules the delayed parts (unrouting after a drain, lingering binaries); tasks run on the life cycle's thread. */
  public interface Scheduler {
    void schedule(Runnable task, long delayMillis);
  }

  /**
   * Watches a file for changes (written, replaced, deleted): a lingering binary's uprobes must go before a rewritten
   * file is executed again, or its new processes would hit breakpoints at stale offsets.
   */
  public interface FileWatch {
    /** Calls {@code onChange} (on any thread) when the file changes; closing the handle stops watching. */
    AutoCloseable watch(Path file, Runnable onChange);
  }

  // ---- state ------------------------------------------------------------------------------------------------

  /** A traced process. */
  private static final class Traced {
    final ProcessSnapshot snapshot;
    final TracedIdentity identity;
    final String app;
    @Nullable final Binary binary;      // attached for all its processes
    @Nullable final Attachment own;     // attached for this process only
    Traced(ProcessSnapshot snapshot, TracedIdentity identity, String app, @Nullable Binary binary,
        @Nullable Attachment own) {
      this.snapshot = snapshot;
      this.identity = identity;
      this.app = app;
      this.binary = binary;
      this.own = own;
    }
  }

  /** A binary attached for all its processes. */
  private static final class Binary {
    final int id;
    final Target target;
    final BinaryAnalyzer.Analysis analysis;
    final Attachment attachment;
    final Set<Integer> pids = new LinkedHashSet<>();
    /** Settings every process selected so far got, while they were all the same; null once they differed. */
    @Nullable ProcessSettings uniform;
    boolean published;
    long generation; // bumped at each (re)use, so a stale linger timer does nothing
    @Nullable AutoCloseable watch; // while lingering

    Binary(int id, Target target, BinaryAnalyzer.Analysis analysis, Attachment attachment) {
      this.id = id;
      this.target = target;
      this.analysis = analysis;
      this.attachment = attachment;
    }
  }

  /** Why a process incarnation (start time + executable) is not traced. */
  private record Decision(long startTicks, @Nullable ExecutableKey executable, String reason) {
    boolean sameIncarnation(ProcessSnapshot s) {
      return startTicks == s.info().startTimeTicks() && s.executableKey().equals(executable);
    }
  }

  private final Processes processes;
  private final Rules rules;
  private final Binaries binaries;
  private final Kernel kernel;
  private final Telemetry telemetry;
  private final Scheduler scheduler;
  private final Executor detacher;
  private final Consumer<AgentEvent> events;
  private final FileWatch fileWatch;
  private final long drainDelayMillis;
  private final java.util.function.LongSupplier monotonicNanos;
  private final Set<String> propagationFeatures;

  private final Map<Integer, Traced> traced = new HashMap<>();
  private final Map<Integer, Decision> declined = new HashMap<>();
  private final Map<ExecutableKey, Binary> byKey = new HashMap<>();
  private final Map<Integer, Binary> byId = new HashMap<>();
  /** Last resource-relevant identity per published binary, for processes gone before the host could read them. */
  private final Map<Integer, TracedIdentity> lastIdentity = new HashMap<>();
  private final Set<String> seenApps = new LinkedHashSet<>();
  private final AtomicLong reattachments = new AtomicLong();
  private final AtomicLong attachFailures = new AtomicLong();
  private final AtomicLong attachesAvoided = new AtomicLong();
  private final AtomicLong binaryAttaches = new AtomicLong();
  private int nextBinaryId = 1;
  private volatile boolean attaching;

  private ProcessLifecycle(Builder b) {
    this.processes = requireNonNull(b.processes, "processes");
    this.rules = requireNonNull(b.rules, "rules");
    this.binaries = requireNonNull(b.binaries, "binaries");
    this.kernel = requireNonNull(b.kernel, "kernel");
    this.telemetry = requireNonNull(b.telemetry, "telemetry");
    this.scheduler = requireNonNull(b.scheduler, "scheduler");
    this.detacher = requireNonNull(b.detacher, "detacher");
    this.events = b.events;
    this.fileWatch = b.fileWatch;
    this.drainDelayMillis = b.drainDelayMillis;
    this.monotonicNanos = b.monotonicNanos;
    this.propagationFeatures = b.propagationFeatures;
  }

  public static Builder builder() {
    return new Builder();
  }

  // ---- decisions --------------------------------------------------------------------------------------------

  /**
   * Decides about one process and instruments it when selected. Never throws.
   *
   * @param again true on reconcile: decide again even if this process incarnation was decided before
   * @param execKtime kernel time of its exec event, for the exec-to-attached latency (0: unknown)
   */
  public void consider(int pid, boolean again, long execKtime) {
    try {
      Traced existing = traced.get(pid);
      Optional<ProcessSnapshot> snap = processes.snapshot(pid);
      if (snap.isEmpty()) {
        return;
      }
      ProcessSnapshot s = snap.get();
      if (existing != null) {
        if (existing.snapshot.info().startTimeTicks() == s.info().startTimeTicks()
            && existing.snapshot.executableKey().equals(s.executableKey())) {
          return;
        }
        detach(pid, existing.snapshot.info().startTimeTicks() == s.info().startTimeTicks()
            ? "exec replaced the program" : "pid reused");
      }
      Decision previous = declined.get(pid);
      if (!again && previous != null && previous.sameIncarnation(s)) {
        return;
      }
      Optional<WorkloadMetadata> metadata = rules.describe(s.info());
      Optional<Selection> selection = rules.select(s.info(), metadata);
      if (selection.isEmpty()) {
        decline(s, "not selected", null, false);
        return;
      }
      instrument(s, metadata, selection.get(), execKtime);
    } catch (ProcFsException e) {
      unreadable(pid, e);
    } catch (RuntimeException e) {
      log.warn("process not instrumented pid={} reason={}", pid, e.getMessage());
    } finally {
      publishAttachments();
    }
  }

  /** The process exited: detach it and forget its decisions. */
  public void exited(int pid) {
    detach(pid, "exited");
    declined.remove(pid);
  }

  /**
   * A probe of a published binary selected a process the host had not decided about (goscope_context.h,
   * GS_HOST_PROCESS_SEEN). Decides now; a process already gone is traced as its binary's last process was.
   */
  public void provisionallySelected(int pid, int binaryId, long execKtime) {
    if (traced.containsKey(pid)) {
      return;
    }
    consider(pid, true, execKtime);
    if (traced.containsKey(pid) || declined.containsKey(pid)) {
      return;
    }
    Binary b = byId.get(binaryId);
    TracedIdentity template = lastIdentity.get(binaryId);
    if (b == null || template == null) {
      kernel.forget(pid);
      return;
    }
    // Gone before /proc could be read (a short-lived CLI): its records are routed as its binary's processes' are.
    ProcessInfo gone = new ProcessInfo(pid, List.of(pid), template.info().executable(), template.info().cmdline(),
        template.info().environment(), 0, template.info().containerId(), template.info().podUid());
    TracedIdentity identity = new TracedIdentity(gone, template.goVersion(), template.metadata(),
        template.selection(), template.analysis());
    telemetry.route(pid, identity);
    log.info("short-lived process traced pid={} exe={} binary={} (gone before it could be read; identity of its "
        + "binary's last process)", pid, gone.executable(), binaryId);
    scheduler.schedule(() -> {
      if (!traced.containsKey(pid)) {
        telemetry.unroute(pid, identity);
        kernel.forget(pid);
      }
    }, drainDelayMillis);
  }

  /**
   * A process whose /proc entries cannot be read (e.g. no CAP_SYS_PTRACE for another user's process). Nothing is
   * known to select it by, except its command line: if that matches the rules, say why it is not traced, once.
   */
  private void unreadable(int pid, ProcFsException e) {
    log.debug("process unreadable pid={} reason={}", pid, e.getMessage());
    try {
      Optional<List<String>> cmdline = processes.cmdline(pid);
      Optional<Long> start = processes.startTime(pid);
      if (cmdline.isEmpty() || cmdline.get().isEmpty() || start.isEmpty()) {
        return;
      }
      ProcessInfo guess = new ProcessInfo(pid, List.of(pid), cmdline.get().get(0), cmdline.get(), Map.of(),
          start.get(), null, null);
      if (rules.select(guess, Optional.empty()).isPresent()) {
        Decision previous = declined.get(pid);
        String reason = "executable unreadable: " + e.getMessage();
        if (previous == null || previous.startTicks() != start.get() || !previous.reason().equals(reason)) {
          declined.put(pid, new Decision(start.get(), null, reason));
          log.warn("process not instrumented pid={} exe={} reason={}", pid, guess.executable(), reason);
        }
      }
    } catch (RuntimeException ignored) {
      // as unreadable as it gets: nothing selects it
    }
  }

  /**
   * Records that a process is not traced and logs it once per process instance when a rule selected it: at WARN,
   * or at INFO when {@code expected} (a rule on a pod or namespace also selects its shells and sidecars, which are
   * not Go). A process that runs a binary attached for all its processes is marked declined in the kernel, so its
   * probe hits record nothing.
   */
  private void decline(ProcessSnapshot s, String reason, @Nullable String rule, boolean expected) {
    Decision d = new Decision(s.info().startTimeTicks(), s.executableKey(), reason);
    Decision previous = declined.put(s.pid(), d);
    if (rule != null && !d.equals(previous)) {
      log.atLevel(expected ? Level.INFO : Level.WARN).log("process not instrumented pid={} exe={} rule={} reason={}",
          s.pid(), s.info().executable(), rule, reason);
    }
    Binary b = byKey.get(s.executableKey());
    if (b != null) {
      kernel.decline(s.pid());
      if (b.published) {
        // Not all its processes are selected alike any more: new ones wait for the host's decision.
        b.uniform = null;
        b.published = false;
        kernel.unpublishBinary(b.id);
      }
      if (!d.equals(previous)) {
        log.info("binary also runs in a process that is not traced pid={} exe={} binary={}: its probe hits are "
            + "filtered in the kernel", s.pid(), s.info().executable(), b.id);
      }
    }
  }

  private String ruleOf(Selection selection) {
    return selection.ruleName();
  }

  private void instrument(ProcessSnapshot s, Optional<WorkloadMetadata> metadata, Selection selection,
      long execKtime) {
    int pid = s.pid();
    ProcessInfo info = s.info();
    String rule = ruleOf(selection);
    Optional<Boolean> isGo = binaries.isGo(s);
    if (isGo.isEmpty()) {
      if (processes.isAlive(pid)) {
        decline(s, "executable unreadable", rule, false);
      }
      return;
    }
    if (!isGo.get()) {
      decline(s, "not a Go binary", rule, true);
      return;
    }
    long t0 = System.nanoTime();
    Target target = binaries.locate(s);
    Binary binary = target.perBinary() ? byKey.get(target.key()) : null;
    BinaryAnalyzer.Analysis analysis;
    if (binary != null) {
      analysis = binary.analysis;
    } else {
      try {
        analysis = binaries.analyze(target);
      } catch (RuntimeException e) {
        if (processes.isAlive(pid)) {
          attachFailures.incrementAndGet();
          decline(s, e.getMessage(), rule, false);
        }
        return;
      }
      Optional<ExecutableKey> keyNow = processes.executableKey(pid);
      if (keyNow.isEmpty() || !keyNow.get().equals(s.executableKey())) {
        // The process exec'd (or exited) while we analysed: decide again about what it runs now.
        log.debug("executable changed during analysis pid={}", pid);
        if (keyNow.isPresent()) {
          consider(pid, true, execKtime);
        }
        return;
      }
    }
    Map<ProbeSetRuntime, ProbePlan> plans = new LinkedHashMap<>();
    long sources = 0;
    for (Map.Entry<ProbeSetRuntime, ProbePlan> e : analysis.plans().entrySet()) {
      ProbeSetRuntime rt = e.getKey();
      boolean host = rt.id().equals(GoroutineProbeSet.ID);
      if (host || selection.options().probeEnabled(rt.id())) {
        plans.put(rt, e.getValue());
        sources |= 1L << rt.sourceId();
      }
    }
    ProcessSettings settings = settingsOf(selection.options(), sources);
    Set<String> features = featuresOf(selection.options());
    TracedIdentity identity = new TracedIdentity(info, analysis.goVersion(), metadata, selection, analysis);

    // Select before attaching: a per-binary attachment fires for the process as soon as it exists.
    kernel.select(pid, settings);
    telemetry.route(pid, identity);
    Attachment own = null;
    attaching = true;
    try {
      if (binary == null && target.perBinary()) {
        binary = attachBinary(target, analysis, plans, features, pid);
      } else if (binary != null) {
        binary.generation++;
        stopWatching(binary);
        attachesAvoided.incrementAndGet();
        for (String f : features) {
          String why = binary.attachment.enable(f);
          if (why != null) {
            log.warn("feature not attached pid={} exe={} feature={} reason={}", pid, info.executable(), f, why);
          }
        }
      } else {
        own = kernel.attach(0, pid, target, plans, features);
      }
    } catch (RuntimeException e) {
      telemetry.unroute(pid, identity);
      kernel.forget(pid);
      if (processes.isAlive(pid)) {
        attachFailures.incrementAndGet();
        decline(s, e.getMessage(), rule, false);
      } else {
        log.info("process exited during attach pid={} exe={}", pid, info.executable());
      }
      return;
    } finally {
      attaching = false;
    }
    if (binary != null) {
      binary.pids.add(pid);
      lastIdentity.put(binary.id, identity);
      publish(binary, settings);
    }
    String app = identity.selection().options().serviceName() + "|" + info.executableName() + "|"
        + metadata.map(WorkloadMetadata::namespace).orElse("") + "|"
        + metadata.map(WorkloadMetadata::ownerName).orElse("");
    if (seenApps.size() > MAX_SEEN_APPS) {
      seenApps.clear(); // bounded; only the re-attach counter loses precision
    }
    boolean again = !seenApps.add(app);
    if (again) {
      reattachments.incrementAndGet();
    }
    declined.remove(pid);
    traced.put(pid, new Traced(s, identity, app, binary, own));
    long micros = (System.nanoTime() - t0) / 1000;
    long sinceExec = execKtime <= 0 ? -1 : (monotonicNanos.getAsLong() - execKtime) / 1000;
    Attachment a = binary != null ? binary.attachment : own;
    log.info("process instrumented pid={} exe={} rule={} path={} via={} mode={} uprobes={} reattach={} micros={} "
            + "execToAttachedMicros={}", pid, info.executable(), rule, target.attachPath(), target.reason(),
        binary != null ? "binary " + binary.id : "process", a.uprobesBySet(), again, micros, sinceExec);
    if (!a.failures().isEmpty()) {
      log.warn("process partly instrumented pid={} exe={} notAttached={}", pid, info.executable(), a.failures());
    }
    fire(new AgentEvent(AgentEvent.Kind.ATTACHED, pid, info.executableName(), micros, sinceExec));
  }

  private Binary attachBinary(Target target, BinaryAnalyzer.Analysis analysis, Map<ProbeSetRuntime, ProbePlan> plans,
      Set<String> features, int firstPid) {
    // A rewritten file (same inode, new mtime) must lose its old uprobes first: their offsets are stale.
    for (Binary old : List.copyOf(byKey.values())) {
      if (old.target.key().device() == target.key().device() && old.target.key().inode() == target.key().inode()) {
        log.info("binary changed on disk, old uprobes removed binary={} path={}", old.id, old.target.attachPath());
        closeBinary(old, "file changed");
      }
    }
    int id = nextBinaryId++;
    Attachment a = kernel.attach(id, -1, target, plans, features);
    Binary b = new Binary(id, target, analysis, a);
    byKey.put(target.key(), b);
    byId.put(id, b);
    binaryAttaches.incrementAndGet();
    log.info("binary attached for all its processes binary={} path={} firstPid={} uprobes={}", id,
        target.attachPath(), firstPid, a.uprobesBySet());
    return b;
  }

  /** Publishes a binary for its new processes while all its processes were selected with the same settings. */
  private void publish(Binary b, ProcessSettings settings) {
    if (b.pids.size() == 1 && b.uniform == null && !b.published) {
      b.uniform = settings;
    }
    boolean selectNew = settings.equals(b.uniform);
    if (!selectNew) {
      b.uniform = null;
    }
    if (selectNew != b.published) {
      if (selectNew) {
        kernel.publishBinary(b.id, settings, true);
      } else {
        kernel.unpublishBinary(b.id);
      }
      b.published = selectNew;
    }
  }

  static ProcessSettings settingsOf(RuleOptions options, long sources) {
    return new ProcessSettings(options.sampling(), options.propagation(), sources);
  }

  Set<String> featuresOf(RuleOptions options) {
    return options.propagation() ? propagationFeatures : Set.of();
  }

  // ---- detach -----------------------------------------------------------------------------------------------

  /** Detaches a process; its telemetry route goes after the ring buffer was drained. */
  public void detach(int pid, String why) {
    Traced t = traced.remove(pid);
    if (t == null) {
      return;
    }
    publishAttachments();
    if (t.binary != null && why.startsWith("no longer selected") && processes.isAlive(pid)) {
      kernel.decline(pid);
      if (t.binary.published) {
        // One of its processes is not selected any more: new ones wait for the host's decision.
        t.binary.uniform = null;
        t.binary.published = false;
        kernel.unpublishBinary(t.binary.id);
      }
    } else {
      kernel.forget(pid);
    }
    if (t.own != null) {
      Attachment own = t.own;
      detacher.execute(() -> {
        yieldToAttaches();
        own.close(() -> { });
        log.info("process detached pid={} exe={} reason={}", pid, t.snapshot.info().executable(), why);
        fire(new AgentEvent(AgentEvent.Kind.DETACHED, pid, t.snapshot.info().executableName(), 0));
      });
    } else {
      log.info("process detached pid={} exe={} reason={} binary={}", pid, t.snapshot.info().executable(), why,
          t.binary.id);
      fire(new AgentEvent(AgentEvent.Kind.DETACHED, pid, t.snapshot.info().executableName(), 0));
    }
    if (t.binary != null) {
      Binary b = t.binary;
      b.pids.remove(pid);
      if (b.pids.isEmpty()) {
        long linger = b.target.lingerMillis();
        if (linger > 0) {
          long generation = ++b.generation;
          Runnable closeIfStillIdle = () -> {
            if (b.pids.isEmpty() && b.generation == generation && byId.get(b.id) == b) {
              closeBinary(b, "no process for " + linger + " ms");
            }
          };
          scheduler.schedule(closeIfStillIdle, linger);
          try {
            b.watch = fileWatch.watch(b.target.attachPath(), () -> scheduler.schedule(() -> {
              if (b.pids.isEmpty() && byId.get(b.id) == b) {
                closeBinary(b, "file changed while no process ran it");
              }
            }, 0));
          } catch (RuntimeException e) {
            log.debug("binary not watched, detached now binary={} reason={}", b.id, e.toString());
            closeBinary(b, "file cannot be watched");
          }
        } else {
          closeBinary(b, "last process gone");
        }
      }
    }
    TracedIdentity identity = t.identity;
    scheduler.schedule(() -> {
      if (!traced.containsKey(pid)) {
        telemetry.unroute(pid, identity);
      }
    }, drainDelayMillis);
  }

  private void stopWatching(Binary b) {
    if (b.watch != null) {
      try {
        b.watch.close();
      } catch (Exception e) {
        log.debug("watch close failed binary={} reason={}", b.id, e.toString());
      }
      b.watch = null;
    }
  }

  private void closeBinary(Binary b, String why) {
    stopWatching(b);
    byKey.remove(b.target.key());
    byId.remove(b.id);
    publishAttachments();
    lastIdentity.remove(b.id);
    if (b.published) {
      kernel.unpublishBinary(b.id);
    }
    for (Integer pid : List.copyOf(b.pids)) {
      Traced t = traced.get(pid);
      if (t != null && t.binary == b) {
        detach(pid, "binary detached");
      }
    }
    detacher.execute(() -> {
      yieldToAttaches();
      b.attachment.close(() -> { });
      log.info("binary detached binary={} path={} reason={}", b.id, b.target.attachPath(), why);
    });
  }

  /**
   * Called by detach threads before they remove an attachment's uprobes: while an attach is in progress, wait
   * (bounded, once per attachment, so that continuous churn cannot starve removals). Uprobe registration and removal
   * serialise in the kernel, each waiting for a grace period; attaching a new process is what users wait for,
   * removing an exited one is not.
   */
  private void yieldToAttaches() {
    long deadline = System.nanoTime() + 2_000_000_000L;
    while (attaching && System.nanoTime() < deadline) {
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  // ---- reconcile --------------------------------------------------------------------------------------------

  /**
   * Re-evaluates every live process against the rules (which may have changed): detaches processes no longer
   * selected, re-routes processes whose identity changed (new workload metadata, new rule options) and attaches
   * features a rule now enables. Decisions already logged are not logged again.
   */
  public void reconcile() {
    for (int pid : processes.known()) {
      consider(pid, true, 0);
    }
    for (Map.Entry<Integer, Traced> e : List.copyOf(traced.entrySet())) {
      int pid = e.getKey();
      Traced t = e.getValue();
      Optional<WorkloadMetadata> metadata = rules.describe(t.snapshot.info());
      Optional<Selection> selection = rules.select(t.snapshot.info(), metadata);
      if (selection.isEmpty()) {
        detach(pid, "no longer selected by the rules");
        continue;
      }
      TracedIdentity identity = new TracedIdentity(t.snapshot.info(), t.identity.goVersion(), metadata,
          selection.get(), t.identity.analysis());
      if (!identity.equals(t.identity)) {
        long sources = 0;
        Map<ProbeSetRuntime, ProbePlan> plans = t.binary != null ? t.binary.analysis.plans() : Map.of();
        for (ProbeSetRuntime rt : plans.keySet()) {
          if (rt.id().equals(GoroutineProbeSet.ID) || selection.get().options().probeEnabled(rt.id())) {
            sources |= 1L << rt.sourceId();
          }
        }
        if (t.binary == null) {
          sources = -1L; // attached for this process only: the attached sets are its sets
        }
        ProcessSettings settings = settingsOf(selection.get().options(), sources);
        kernel.select(pid, settings);
        Attachment a = t.binary != null ? t.binary.attachment : t.own;
        for (String f : featuresOf(selection.get().options())) {
          String why = a.enable(f);
          if (why != null) {
            log.warn("feature not attached pid={} feature={} reason={}", pid, f, why);
          }
        }
        telemetry.route(pid, identity);
        traced.put(pid, new Traced(t.snapshot, identity, t.app, t.binary, t.own));
        if (t.binary != null) {
          lastIdentity.put(t.binary.id, identity);
          publish(t.binary, settings);
        }
        log.info("process identity updated pid={} rule={}", pid, selection.get().ruleName());
      }
    }
  }

  // ---- introspection ----------------------------------------------------------------------------------------

  private void fire(AgentEvent e) {
    if (events != null) {
      try {
        events.accept(e);
      } catch (RuntimeException ex) {
        log.debug("listener failed reason={}", ex.toString());
      }
    }
  }

  public int instrumentedCount() {
    return traced.size();
  }

  public boolean isTraced(int pid) {
    return traced.containsKey(pid);
  }

  /** Binaries attached for all their processes now. */
  public int binaryCount() {
    return byKey.size();
  }

  /** Processes selected whose binary was attached already: no uprobe was placed for them. */
  public long attachesAvoided() {
    return attachesAvoided.get();
  }

  public long binaryAttaches() {
    return binaryAttaches.get();
  }

  public long reattachments() {
    return reattachments.get();
  }

  public long attachFailures() {
    return attachFailures.get();
  }

  private volatile Map<String, Long> uprobesBySetNow = Map.of();
  private volatile List<String> failuresNow = List.of();

  /** Refreshes what {@link #uprobesBySet()} and {@link #attachmentFailures()} give other threads. */
  private void publishAttachments() {
    Map<String, Long> sets = new java.util.TreeMap<>();
    List<String> failures = new ArrayList<>();
    Set<Attachment> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    List<Attachment> all = new ArrayList<>();
    traced.values().forEach(t -> all.add(t.binary != null ? t.binary.attachment : t.own));
    byId.values().forEach(b -> all.add(b.attachment)); // lingering binaries too
    for (Attachment a : all) {
      if (a != null && seen.add(a)) {
        a.uprobesBySet().forEach((set, n) -> sets.merge(set, (long) n, Long::sum));
        failures.addAll(a.failures());
      }
    }
    uprobesBySetNow = Map.copyOf(sets);
    failuresNow = List.copyOf(failures);
  }

  /** Uprobes attached now by probe set, each shared binary counted once (safe from any thread). */
  public Map<String, Long> uprobesBySet() {
    return uprobesBySetNow;
  }

  /** What could not be attached, over the attachments in place now (safe from any thread). */
  public List<String> attachmentFailures() {
    return failuresNow;
  }

  /** Pids traced now. */
  public Set<Integer> tracedPids() {
    return Set.copyOf(traced.keySet());
  }

  /** Detaches every process and binary (at agent stop). */
  public void closeAll() {
    for (Integer pid : List.copyOf(traced.keySet())) {
      detach(pid, "agent stopping");
    }
    for (Binary b : List.copyOf(byId.values())) {
      closeBinary(b, "agent stopping");
    }
  }

  /** Builder for {@link ProcessLifecycle}. */
  public static final class Builder {
    private Processes processes;
    private Rules rules;
    private Binaries binaries;
    private Kernel kernel;
    private Telemetry telemetry;
    private Scheduler scheduler;
    private Executor detacher;
    @Nullable private Consumer<AgentEvent> events;
    private FileWatch fileWatch = (file, onChange) -> () -> { };
    private long drainDelayMillis = 2_000;
    private java.util.function.LongSupplier monotonicNanos = () -> -1;
    private Set<String> propagationFeatures = Set.of(FunctionProbe.PROPAGATION);

    /** The features a rule's {@code propagation: true} attaches on this host (see PropagationSupport). */
    public Builder propagationFeatures(Set<String> features) {
      this.propagationFeatures = Set.copyOf(features);
      return this;
    }

    public Builder processes(Processes p) {
      this.processes = p;
      return this;
    }

    public Builder rules(Rules r) {
      this.rules = r;
      return this;
    }

    public Builder binaries(Binaries b) {
      this.binaries = b;
      return this;
    }

    public Builder kernel(Kernel k) {
      this.kernel = k;
      return this;
    }

    public Builder telemetry(Telemetry t) {
      this.telemetry = t;
      return this;
    }

    public Builder scheduler(Scheduler s) {
      this.scheduler = s;
      return this;
    }

    public Builder detacher(Executor e) {
      this.detacher = e;
      return this;
    }

    public Builder events(Consumer<AgentEvent> e) {
      this.events = e;
      return this;
    }

    /** Watches the files of lingering binaries. */
    public Builder fileWatch(FileWatch watch) {
      this.fileWatch = requireNonNull(watch, "watch");
      return this;
    }

    /** How long a detached process's records keep being routed (records still in the ring buffer). */
    public Builder drainDelayMillis(long millis) {
      this.drainDelayMillis = millis;
      return this;
    }

    /** The kernel's monotonic clock (CLOCK_MONOTONIC), to measure exec-to-attached from exec events. */
    public Builder monotonicNanos(java.util.function.LongSupplier clock) {
      this.monotonicNanos = requireNonNull(clock, "clock");
      return this;
    }

    public ProcessLifecycle build() {
      return new ProcessLifecycle(this);
    }
  }
}
