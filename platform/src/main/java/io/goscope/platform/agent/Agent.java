package io.goscope.platform.agent;

import static java.util.Objects.requireNonNull;

import io.goscope.api.DiscoveryContext;
import io.goscope.api.DiscoverySource;
import io.goscope.api.Nullable;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import io.goscope.platform.admin.AdminServer;
import io.goscope.platform.admin.Health;
import io.goscope.platform.admin.Heartbeat;
import io.goscope.platform.admin.SelfHistogram;
import io.goscope.platform.admin.SelfMetrics;
import io.goscope.platform.admin.SelfMetricsData;
import io.goscope.platform.discovery.ExecutableKey;
import io.goscope.platform.discovery.GoDetector;
import io.goscope.platform.discovery.ProcFs;
import io.goscope.platform.discovery.ProcFsException;
import io.goscope.platform.discovery.ProcessScanner;
import io.goscope.platform.discovery.ProcessSnapshot;
import io.goscope.platform.discovery.kubernetes.KubernetesMetadata;
import io.goscope.platform.export.ExporterRegistry;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.platform.export.ResourceFactory;
import io.goscope.platform.export.TelemetryPipeline;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.OffsetBundleDirectory;
import io.goscope.platform.instrument.BinaryAnalyzer;
import io.goscope.platform.instrument.Instrumentation;
import io.goscope.platform.instrument.Instrumentor;
import io.goscope.platform.instrument.ProbePlan;
import io.goscope.platform.instrument.ProbePlanner;
import io.goscope.platform.instrument.ProbeSetRuntime;
import io.goscope.platform.instrument.RecordDispatcher;
import io.goscope.platform.instrument.SampledSink;
import io.goscope.platform.plugin.PluginHost;
import io.goscope.platform.rules.GoApps;
import io.goscope.platform.rules.Rule;
import io.goscope.platform.rules.RuleDefaults;
import io.goscope.platform.rules.RuleOptions;
import io.goscope.platform.rules.RuleSet;
import io.goscope.platform.rules.RulesDirectory;
import io.goscope.platform.rules.Selection;
import io.goscope.platform.sys.BpfFeatures;
import io.goscope.platform.sys.BpfMap;
import io.goscope.platform.sys.Clocks;
import io.goscope.platform.sys.RingBufferReader;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The node agent: discovers processes, selects Go apps by rules, instruments each selected process in isolation,
 * drains the one shared ring buffer on a timer and exports telemetry.
 *
 * <p>Processes come from discovery sources: the built-in {@code proc} source ({@link ProcDiscoverySource}: exec/exit
 * tracepoints plus a /proc poll), {@code kubernetes} for pod metadata, and any plugin's.
 *
 * <p>Threads: {@code goscope-discovery} (decisions, reconcile and attaches, one process at a time, so the state
 * needs no locks), {@code goscope-proc-poll}, {@code goscope-detach} (uprobe removal, which waits for kernel grace
 * periods), {@code goscope-ringbuf} (drain every 10 ms, decode, hand to the export queue; never blocks), the
 * export worker of the {@link TelemetryPipeline} and the periodic collector of the {@link MetricPipeline}.
 */
public final class Agent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Agent.class);
  /** Goscope's version, for {@code telemetry.distro.version}. */
  public static final String VERSION = "0.1.0";

  private final AgentConfig config;
  private final List<SpanExporter> extraExporters;
  private final List<Consumer<AgentEvent>> listeners = new CopyOnWriteArrayList<>();

  private PluginHost plugins;
  private List<ProbeSetRuntime> runtimes = List.of();
  private BpfMap ringBuffer;
  private RingBufferReader reader;
  private RecordDispatcher dispatcher;
  private TelemetryPipeline pipeline;
  private MetricPipeline metrics;
  @Nullable private OffsetBundleDirectory offsetBundles;
  private List<?> lastBundleTables = List.of();
  private BinaryAnalyzer analyzer;
  private Instrumentor instrumentor;
  private ResourceFactory resources;
  private ProcFs procFs;
  private ProcessScanner scanner;
  private final GoDetector goDetector = new GoDetector();
  private final List<DiscoverySource> sources = new ArrayList<>();
  private final AtomicReference<RuleSet> rules = new AtomicReference<>();
  @Nullable private RulesDirectory rulesDirectory;
  private ScheduledExecutorService discovery;
  private ScheduledExecutorService drain;
  private final ThreadPoolExecutor detacher = new ThreadPoolExecutor(
      DETACH_THREADS, DETACH_THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
      daemon("goscope-detach"));
  /** Threads that close uprobe links; each close waits for a kernel grace period, so they run side by side. */
  private static final int DETACH_THREADS = 4;

  private final Map<Integer, Traced> traced = new ConcurrentHashMap<>();
  /** Kernel time of the exec event being handled, per pid, for the exec-to-attached latency. */
  private final Map<Integer, Long> execTimes = new ConcurrentHashMap<>();
  @Nullable private Clocks clocks;
  /** Processes decided against, per pid, so each decision is logged once, not every poll or reconcile. */
  private final Map<Integer, Decision> declined = new ConcurrentHashMap<>();
  /** Detaches in progress, so a re-attach of the same pid waits for its old links to go. */
  private final Map<Integer, Future<?>> detaching = new ConcurrentHashMap<>();
  /** Apps seen before, by service identity: a new pid of one counts as a re-attach (restart, rolling update). */
  private final Set<String> seenApps = ConcurrentHashMap.newKeySet();
  private static final int MAX_SEEN_APPS = 65536;
  private final AtomicLong reattachments = new AtomicLong();
  private final AtomicLong attachFailures = new AtomicLong();
  /** Attaches running now; detaches step aside while it is non-zero. */
  private final AtomicInteger attachesInProgress =
      new AtomicInteger();
  private volatile boolean closed;

  // Health and self-metrics (see registerSelfMetrics).
  private final SelfMetrics selfMetrics = new SelfMetrics();
  private final Health health = new Health();
  private final Heartbeat drainBeat;
  private final Heartbeat discoveryBeat = new Heartbeat("discovery loop", Duration.ofSeconds(60));
  private final SelfHistogram execToAttached = selfMetrics.histogram(SelfMetrics.EXEC_TO_ATTACHED_SECONDS,
      "From a process's exec event to its last uprobe attached.", SelfMetrics.LATENCY_BUCKETS);
  private final SelfHistogram analysisTime = selfMetrics.histogram(SelfMetrics.ANALYSIS_SECONDS,
      "Binary analysis per attach, cached analyses included.", SelfMetrics.LATENCY_BUCKETS);
  @Nullable private AdminServer admin;
  private volatile boolean pluginsLoaded;

  private record Traced(ProcessSnapshot snapshot, Instrumentation instrumentation, String app, String goVersion,
      Resource resource) {}

  /** Why a process incarnation (start time + executable) is not traced. */
  private record Decision(long startTicks, @Nullable ExecutableKey executable, String reason) {
    boolean sameIncarnation(ProcessSnapshot s) {
      return startTicks == s.info().startTimeTicks() && s.executableKey().equals(executable);
    }
  }

  private Agent(AgentConfig config, List<SpanExporter> extraExporters) {
    this.config = requireNonNull(config, "config");
    this.extraExporters = List.copyOf(extraExporters);
    // A drain round is a few ms; far beyond its interval means the reader thread is stuck or gone.
    this.drainBeat = new Heartbeat("ring buffer reader",
        Duration.ofMillis(Math.max(5000, 100 * Math.max(1, config.drainInterval().toMillis()))));
    registerHealthChecks();
  }

  /** Creates an agent; {@code extraExporters} are used in addition to the configured ones (the demo's console). */
  public static Agent create(AgentConfig config, List<SpanExporter> extraExporters) {
    return new Agent(config, extraExporters);
  }

  /** Registers a listener for attach/detach events (tests, the demo). */
  public void addListener(Consumer<AgentEvent> listener) {
    listeners.add(requireNonNull(listener, "listener"));
  }

  /**
   * Starts everything. Throws when BPF is unusable on this node; everything else (a broken plugin, a missing
   * rules directory, an exporter whose backend is down) is logged and the agent runs on.
   */
  public synchronized void start() {
    BpfFeatures.requireBpf();
    plugins = PluginHost.start(config.pluginsDir(), Set.copyOf(config.pluginsEnabled()),
        Set.copyOf(config.pluginsDisabled()));
    runtimes = loadProbeSets(plugins.probeSets());

    pluginsLoaded = true;

    ExporterRegistry registry = new ExporterRegistry(plugins.exporters());
    List<SpanExporter> exporters = new ArrayList<>(registry.create(config.properties()));
    exporters.addAll(extraExporters);
    pipeline = TelemetryPipeline.builder().config(config.properties()).exporters(exporters).build();
    resources = ResourceFactory.create(config.properties(), VERSION);
    MetricPipeline.Builder metricsBuilder = MetricPipeline.builder().config(config.properties())
        .exporters(registry.createMetricExporters(config.properties()));
    if (config.selfMetricsExport()) {
      metricsBuilder.addProducer(new SelfMetricsData(selfMetrics, resources.agentResource().merge(Resource.create(
          Attributes.builder().put(ResourceFactory.SERVICE_NAME, "goscope-agent")
              .put(ResourceFactory.TELEMETRY_SDK_LANGUAGE, "java")
              .put(ResourceFactory.PROCESS_PID, ProcessHandle.current().pid()).build()))));
    }
    metrics = metricsBuilder.build();

    ringBuffer = BpfMap.createRingBuffer("goscope_events", config.ringBufferBytes());
    reader = new RingBufferReader(ringBuffer);
    dispatcher = new RecordDispatcher(runtimes);
    if (config.offsetsDir() != null) {
      offsetBundles = OffsetBundleDirectory.watch(config.offsetsDir(), OffsetBundleDirectory.DEFAULT_RESCAN);
    }
    analyzer = new BinaryAnalyzer(new ProbePlanner(new FieldResolver(List.of(), offsetBundles)), runtimes,
        BinaryAnalyzer.DEFAULT_CAPACITY);
    instrumentor = new Instrumentor(ringBuffer);

    procFs = new ProcFs(config.hostProc());
    scanner = new ProcessScanner(procFs);
    long self = ProcessHandle.current().pid();
    RuleDefaults defaults = RuleDefaults.fromEnv(System.getenv(), p -> p.pid() == self);
    List<Rule> goApps = GoApps.rules(String.join(",", config.goApps()));
    rules.set(new RuleSet(goApps, List.of(), defaults));
    if (config.rulesDir() != null) {
      rulesDirectory = RulesDirectory.builder(config.rulesDir()).extraIncludes(goApps).defaults(defaults)
          .listener(newRules -> {
            rules.set(newRules);
            requestReconcile();
          }).build();
      rulesDirectory.start();
      rules.set(rulesDirectory.current());
    }

    drain = Executors.newSingleThreadScheduledExecutor(daemon("goscope-ringbuf"));
    long drainMs = Math.max(1, config.drainInterval().toMillis());
    drain.scheduleWithFixedDelay(this::drainOnce, drainMs, drainMs, TimeUnit.MILLISECONDS);

    discovery = Executors.newSingleThreadScheduledExecutor(daemon("goscope-discovery"));
    discovery.scheduleWithFixedDelay(discoveryBeat::beat, 0, 1, TimeUnit.SECONDS);
    try {
      clocks = Clocks.create();
    } catch (RuntimeException | LinkageError e) {
      log.debug("monotonic clock unavailable; exec-to-attached latency not measured reason={}", e.toString());
    }
    startSources();
    long reconcileMs = Math.max(1000, config.reconcileInterval().toMillis());
    discovery.scheduleWithFixedDelay(this::reconcile, reconcileMs, reconcileMs, TimeUnit.MILLISECONDS);
    long statsMs = Math.max(1000, config.statsInterval().toMillis());
    discovery.scheduleWithFixedDelay(this::logStats, statsMs, statsMs, TimeUnit.MILLISECONDS);
    registerSelfMetrics();
    log.info("agent started proc={} plugins={} probeSets={} goApps={} rulesDir={} ringBufferBytes={}",
        config.hostProc(), config.pluginsDir(), runtimes.stream().map(ProbeSetRuntime::id).toList(),
        config.goApps(), config.rulesDir(), config.ringBufferBytes());
  }

  private List<ProbeSetRuntime> loadProbeSets(List<ProbeSet> sets) {
    List<ProbeSetRuntime> result = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    int next = 1;
    for (ProbeSet set : sets) {
      try {
        String id = set.descriptor().id();
        if (!ids.add(id)) {
          log.error("probe set ignored id={} reason=duplicate id", id);
          continue;
        }
        result.add(ProbeSetRuntime.load(next++, set));
        log.info("probe set loaded id={} source={} probes={}", id, next - 1, set.descriptor().probes().size());
      } catch (Exception | LinkageError e) {
        log.error("probe set unusable class={} reason={}", set.getClass().getName(), e.toString());
      }
    }
    if (result.isEmpty()) {
      log.warn("no probe sets loaded from {}: nothing will be traced", config.pluginsDir());
    }
    return result;
  }

  private void startSources() {
    sources.add(new ProcDiscoverySource(scanner, config.pollInterval(), ringBuffer, dispatcher, execTimes));
    sources.addAll(BuiltinSources.create(config));
    sources.addAll(plugins.discoverySources());
    DiscoveryContext ctx = new DiscoveryContext() {
      @Override
      public io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties config() {
        return config.properties();
      }

      @Override
      public String nodeName() {
        return config.nodeName();
      }

      @Override
      public void processStarted(int pid) {
        submit(() -> {
          try {
            consider(pid, false); // an exec'd process has a new executable: consider() re-decides
          } finally {
            execTimes.remove(pid);
          }
        });
      }

      @Override
      public void processExited(int pid) {
        submit(() -> {
          detach(pid, "exited");
          declined.remove(pid);
        });
      }

      @Override
      public void metadataChanged() {
        requestReconcile();
      }
    };
    for (DiscoverySource s : sources) {
      try {
        s.start(ctx);
        log.info("discovery source started name={}", s.name());
      } catch (RuntimeException e) {
        log.error("discovery source failed name={} reason={}", s.name(), e.toString());
      }
    }
  }

  private void submit(Runnable r) {
    if (!closed) {
      try {
        discovery.execute(r);
      } catch (RuntimeException e) {
        log.debug("discovery task rejected reason={}", e.toString());
      }
    }
  }

  private void requestReconcile() {
    submit(this::reconcile);
  }

  /**
   * Re-evaluates every live process against the rules (which may have changed) and refreshes the resource of
   * traced processes whose workload metadata changed; detaches processes no longer selected. Decisions already
   * logged are not logged again.
   */
  private void reconcile() {
    try {
      if (offsetBundles != null) {
        List<?> tables = offsetBundles.tables();
        if (!tables.equals(lastBundleTables)) {
          // New or changed offset bundles: plans with missing fields may now resolve.
          lastBundleTables = tables;
          analyzer.invalidate();
          declined.clear();
        }
      }
      for (int pid : scanner.known()) {
        consider(pid, true);
      }
      for (Map.Entry<Integer, Traced> e : traced.entrySet()) {
        Traced t = e.getValue();
        Optional<WorkloadMetadata> metadata = describe(t.snapshot().info());
        Optional<Selection> selection = rules.get().select(t.snapshot().info(), metadata);
        if (selection.isEmpty()) {
          detach(e.getKey(), "no longer selected by the rules");
          continue;
        }
        Resource resource = resourceFor(t.snapshot().info(), t.goVersion(), metadata, selection.get());
        if (!resource.equals(t.resource())) {
          // e.g. the kubelet published the container id after the attach: no re-attach needed, only new labels.
          dispatcher.register(e.getKey(), sinkFor(resource, selection.get()));
          traced.put(e.getKey(), new Traced(t.snapshot(), t.instrumentation(), t.app(), t.goVersion(), resource));
          metrics.retire(t.resource()); // its series are exported once more, then freed
          log.info("process resource updated pid={} service={}", e.getKey(),
              resource.getAttribute(ResourceFactory.SERVICE_NAME));
        }
      }
    } catch (RuntimeException e) {
      log.warn("reconcile failed reason={}", e.toString());
    }
  }

  private Optional<WorkloadMetadata> describe(ProcessInfo info) {
    for (DiscoverySource s : sources) {
      try {
        Optional<WorkloadMetadata> m = s.describe(info);
        if (m.isPresent()) {
          return m;
        }
      } catch (RuntimeException e) {
        log.debug("describe failed source={} pid={} reason={}", s.name(), info.pid(), e.toString());
      }
    }
    return Optional.empty();
  }

  /**
   * Decides about one process and instruments it when selected. Never throws.
   *
   * @param again true on reconcile: decide again even if this process incarnation was decided before
   */
  private void consider(int pid, boolean again) {
    if (closed || pid == ProcessHandle.current().pid()) {
      return;
    }
    try {
      Traced existing = traced.get(pid);
      Optional<ProcessSnapshot> snap = procFs.snapshot(pid);
      if (snap.isEmpty()) {
        return;
      }
      ProcessSnapshot s = snap.get();
      if (existing != null) {
        if (existing.snapshot().info().startTimeTicks() == s.info().startTimeTicks()
            && existing.snapshot().executableKey().equals(s.executableKey())) {
          return;
        }
        detach(pid, existing.snapshot().info().startTimeTicks() == s.info().startTimeTicks()
            ? "exec replaced the program" : "pid reused");
      }
      Decision previous = declined.get(pid);
      if (!again && previous != null && previous.sameIncarnation(s)) {
        return;
      }
      Optional<WorkloadMetadata> metadata = describe(s.info());
      Optional<Selection> selection = rules.get().select(s.info(), metadata);
      if (selection.isEmpty()) {
        decline(s, "not selected", null);
        return;
      }
      instrument(s, metadata, selection.get());
    } catch (ProcFsException e) {
      unreadable(pid, e);
    } catch (RuntimeException e) {
      log.warn("process not instrumented pid={} reason={}", pid, e.getMessage());
    }
  }

  /**
   * A process whose /proc entries cannot be read (e.g. no CAP_SYS_PTRACE for another user's process). Nothing is
   * known to select it by, except its command line: if that matches the rules, say why it is not traced, once.
   */
  private void unreadable(int pid, ProcFsException e) {
    log.debug("process unreadable pid={} reason={}", pid, e.getMessage());
    try {
      Optional<List<String>> cmdline = procFs.cmdline(pid);
      Optional<Long> start = procFs.startTime(pid);
      if (cmdline.isEmpty() || cmdline.get().isEmpty() || start.isEmpty()) {
        return;
      }
      ProcessInfo guess = new ProcessInfo(pid, List.of(pid), cmdline.get().get(0), cmdline.get(), Map.of(),
          start.get(), null, null);
      if (rules.get().select(guess, Optional.empty()).isPresent()) {
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

  /** {@link #decline(ProcessSnapshot, String, String, boolean)}, logged at WARN. */
  private void decline(ProcessSnapshot s, String reason, @Nullable String rule) {
    decline(s, reason, rule, false);
  }

  /**
   * Records that a process is not traced and logs it once per process instance when a rule selected it: at WARN,
   * or at INFO when {@code expected} (a rule on a pod or namespace also selects its shells and sidecars, which are
   * not Go).
   */
  private void decline(ProcessSnapshot s, String reason, @Nullable String rule, boolean expected) {
    Decision d = new Decision(s.info().startTimeTicks(), s.executableKey(), reason);
    Decision previous = declined.put(s.pid(), d);
    if (rule != null && !d.equals(previous)) {
      log.atLevel(expected ? Level.INFO : Level.WARN).log("process not instrumented pid={} exe={} rule={} reason={}",
          s.pid(), s.info().executable(), rule, reason);
    }
  }

  private Resource resourceFor(ProcessInfo info, String goVersion, Optional<WorkloadMetadata> metadata,
      Selection selection) {
    RuleOptions options = selection.options();
    AttributesBuilder discovered = metadata.map(WorkloadMetadata::resource).orElse(Attributes.empty()).toBuilder();
    options.resourceAttributes().forEach(discovered::put);
    if (options.serviceName() != null) {
      discovered.put(ResourceFactory.SERVICE_NAME, options.serviceName());
    }
    return resources.create(info, goVersion, discovered.build());
  }

  private io.goscope.api.TelemetrySink sinkFor(Resource resource, Selection selection) {
    // Sampling applies to spans only: the sampled wrapper passes every histogram measurement on.
    return SampledSink.wrap(metrics.sinkFor(resource, pipeline.sinkFor(resource)), selection.options().sampling());
  }

  private void instrument(ProcessSnapshot s, Optional<WorkloadMetadata> metadata, Selection selection) {
    int pid = s.pid();
    ProcessInfo info = s.info();
    String rule = selection.ruleName();
    Optional<Boolean> isGo = goDetector.isGoBinary(s.exeLink(), s.executableKey());
    if (isGo.isEmpty()) {
      if (procFs.isAlive(pid)) {
        decline(s, "executable unreadable", rule);
      }
      return;
    }
    if (!isGo.get()) {
      decline(s, "not a Go binary", rule, true);
      return;
    }
    awaitDetach(pid);
    long t0 = System.nanoTime();
    AttachTarget target = AttachTarget.locate(s, config.binariesDir());
    BinaryAnalyzer.Analysis analysis;
    long analysisStart = System.nanoTime();
    try {
      analysis = analyzer.analyze(target.readPath(), new BinaryAnalyzer.FileKey(s.executableKey().device(),
          s.executableKey().inode(), s.executableKey().mtimeNanos()));
      analysisTime.record((System.nanoTime() - analysisStart) / 1e9);
    } catch (RuntimeException e) {
      if (procFs.isAlive(pid)) {
        attachFailures.incrementAndGet();
        decline(s, e.getMessage(), rule);
      }
      return;
    }
    Optional<ExecutableKey> keyNow = procFs.executableKey(pid);
    if (keyNow.isEmpty() || !keyNow.get().equals(s.executableKey())) {
      // The process exec'd while we analysed: decide again about what it runs now.
      log.debug("executable changed during analysis pid={}", pid);
      submit(() -> consider(pid, true));
      return;
    }
    Map<ProbeSetRuntime, ProbePlan> plans = new LinkedHashMap<>();
    analysis.plans().forEach((rt, plan) -> {
      if (selection.options().probeEnabled(rt.id())) {
        plans.put(rt, plan);
      }
    });
    Resource resource = resourceFor(info, analysis.goVersion(), metadata, selection);
    dispatcher.register(pid, sinkFor(resource, selection));
    Instrumentation instrumentation;
    attachesInProgress.incrementAndGet();
    try {
      instrumentation = instrumentor.attach(pid, target.attachPath().toString(), plans);
    } catch (RuntimeException e) {
      attachesInProgress.decrementAndGet();
      dispatcher.unregister(pid);
      metrics.retire(resource);
      if (procFs.isAlive(pid)) {
        attachFailures.incrementAndGet();
        decline(s, e.getMessage(), rule);
      } else {
        log.info("process exited during attach pid={} exe={}", pid, info.executable());
      }
      return;
    }
    attachesInProgress.decrementAndGet();
    String app = resource.getAttribute(ResourceFactory.SERVICE_NAME) + "|"
        + metadata.map(WorkloadMetadata::namespace).orElse("");
    if (seenApps.size() > MAX_SEEN_APPS) {
      seenApps.clear(); // bounded; only the re-attach counter loses precision
    }
    boolean again = !seenApps.add(app);
    if (again) {
      reattachments.incrementAndGet();
    }
    declined.remove(pid);
    traced.put(pid, new Traced(s, instrumentation, app, analysis.goVersion(), resource));
    long micros = (System.nanoTime() - t0) / 1000;
    Long execKtime = execTimes.get(pid);
    long sinceExec = execKtime == null || execKtime == 0 || clocks == null
        ? -1 : (clocks.monotonicNanos() - execKtime) / 1000;
    if (sinceExec >= 0) {
      execToAttached.record(sinceExec / 1e6);
    }
    log.info("process instrumented pid={} exe={} rule={} path={} via={} uprobes={} reattach={} micros={} "
            + "execToAttachedMicros={}", pid, info.executable(), rule, target.attachPath(),
        target.reason(), instrumentation.uprobesBySet(), again, micros, sinceExec);
    if (!instrumentation.failures().isEmpty()) {
      log.warn("process partly instrumented pid={} exe={} notAttached={}", pid, info.executable(),
          instrumentation.failures());
    }
    fire(new AgentEvent(AgentEvent.Kind.ATTACHED, pid, info.executableName(), micros));
  }

  /** Waits (bounded) for a pending detach of the same pid: old and new links must not overlap on one process. */
  private void awaitDetach(int pid) {
    Future<?> f = detaching.get(pid);
    if (f != null) {
      try {
        f.get(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.debug("previous detach not finished pid={} reason={}", pid, e.toString());
      }
    }
  }


  private void detach(int pid, String why) {
    Traced t = traced.remove(pid);
    if (t == null) {
      return;
    }
    // Unregistering a uprobe waits for an RCU grace period (~100 ms each on the reference VM): detach on the
    // detacher threads, so that exits never delay attaching new processes. "detached" is logged once the links and
    // objects are really gone.
    Runnable close = () -> {
      long t0 = System.nanoTime();
      try {
        t.instrumentation().close(this::yieldToAttaches);
      } finally {
        detaching.remove(pid);
      }
      log.info("process detached pid={} exe={} reason={} micros={}", pid, t.snapshot().info().executable(), why,
          (System.nanoTime() - t0) / 1000);
      fire(new AgentEvent(AgentEvent.Kind.DETACHED, pid, t.snapshot().info().executableName(), 0));
    };
    try {
      Future<?> f = detacher.submit(close);
      detaching.put(pid, f);
      if (f.isDone()) {
        detaching.remove(pid, f);
      }
    } catch (RuntimeException e) {
      close.run();
    }
    // Records already in the ring buffer are drained within one drain interval; keep routing until then.
    drain.schedule(() -> {
      if (!traced.containsKey(pid)) {
        dispatcher.unregister(pid);
      }
      Traced now = traced.get(pid);
      if (now == null || !now.resource().equals(t.resource())) {
        metrics.retire(t.resource()); // exported once more, then freed
      }
    }, 2, TimeUnit.SECONDS);
  }

  /**
   * Called by detacher threads before each uprobe removal: while an attach is in progress, wait (bounded). Uprobe
   * registration and removal serialise in the kernel, each waiting for a grace period; attaching a new process is
   * what users wait for, removing an exited one is not.
   */
  private void yieldToAttaches() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (attachesInProgress.get() > 0 && System.nanoTime() < deadline && !closed) {
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void drainOnce() {
    drainBeat.beat();
    try {
      reader.drain(dispatcher::onRecord);
    } catch (RuntimeException e) {
      log.warn("ring buffer drain failed reason={}", e.toString());
    }
  }

  private void fire(AgentEvent e) {
    for (Consumer<AgentEvent> l : listeners) {
      try {
        l.accept(e);
      } catch (RuntimeException ex) {
        log.debug("listener failed reason={}", ex.toString());
      }
    }
  }

  /**
   * One line with every loss and throughput counter, so that nothing is dropped silently: ring-buffer records the
   * kernel could not write (per-CPU counters of every probe object), records no decoder or process claimed,
   * spans and measurements the export queues dropped, and export failures.
   */
  private void logStats() {
    long ringDrops = ringBufferDrops.getAsLong();
    log.info("stats instrumented={} records={} ringBufferDrops={} unknownProcess={} malformed={} spansExported={} "
            + "spansDropped={} spansFailed={} measurementsDropped={} attachFailures={} reattachments={}",
        traced.size(), dispatcher.dispatched(), ringDrops, dispatcher.unknownProcess(), dispatcher.malformed(),
        pipeline.exportedSpans(), pipeline.droppedSpans(), pipeline.failedSpans(), metrics.droppedMeasurements(),
        attachFailures.get(), reattachments.get());
  }

  /**
   * Ring-buffer records the kernel could not reserve. Today the sum of the per-object {@code goscope_dropped}
   * counters of the processes traced now (a detached process's count goes with it); re-point it to a host-owned
   * counter that survives detaches. Read by the self-metrics and the stats line.
   */
  private volatile LongSupplier ringBufferDrops = () -> {
    long sum = 0;
    for (Traced t : traced.values()) {
      sum += t.instrumentation().ringBufferDrops();
    }
    return sum;
  };

  /**
   * Liveness: the ring-buffer reader, the discovery loop and the export workers make progress. Readiness: plugins
   * loaded, BPF usable, and in a cluster the pod informers synced. Registered at construction, so {@code /readyz}
   * says "plugins not loaded" while {@link #start()} runs.
   */
  private void registerHealthChecks() {
    health.liveness("ringbuf-reader", drainBeat);
    health.liveness("discovery", discoveryBeat);
    health.liveness("span-export", () -> pipeline == null ? Optional.empty() : pipeline.workerProblem());
    health.liveness("metric-export", () -> metrics == null ? Optional.empty() : metrics.workerProblem());
    health.readiness("plugins", () -> pluginsLoaded ? Optional.empty()
        : Optional.of("plugins not loaded yet from " + config.pluginsDir()));
    health.readiness("bpf", BpfFeatures::unavailableReason);
    health.readiness("kubernetes", () -> {
      if (config.nodeName() == null) {
        return Optional.empty(); // not in a cluster
      }
      for (DiscoverySource s : sources) {
        if (s instanceof KubernetesMetadata k && k.active() && !k.hasSynced()) {
          return Optional.of("pod informer not synced yet");
        }
      }
      return pluginsLoaded ? Optional.empty() : Optional.of("not started");
    });
  }

  /**
   * Names every counter the agent keeps in {@link #selfMetrics()}, each read from where it is counted. The one place
   * to re-point a metric when a counter moves (e.g. {@link #ringBufferDrops} to a shared kernel map).
   */
  private void registerSelfMetrics() {
    SelfMetrics m = selfMetrics;
    m.info(SelfMetrics.BUILD_INFO, "Goscope build information.", Map.of("version", VERSION,
        "java_version", System.getProperty("java.version", "unknown")));
    m.gauge(SelfMetrics.PROCESSES_INSTRUMENTED, "Processes with probes attached now.", traced::size);
    m.gaugeFamily(SelfMetrics.PROBES_ATTACHED, "Uprobes attached now, by probe set.", List.of("probe_set"), () -> {
      Map<List<String>, Long> byset = new LinkedHashMap<>();
      runtimes.forEach(r -> byset.put(List.of(r.id()), 0L));
      traced.values().forEach(t -> t.instrumentation().uprobesBySet()
          .forEach((set, n) -> byset.merge(List.of(set), (long) n, Long::sum)));
      return byset;
    });
    m.gaugeFamily(SelfMetrics.PROBES_SKIPPED, "Probes or probe sets of instrumented processes not attached, by "
        + "reason.", List.of("probe_set", "reason"), () -> {
          Map<List<String>, Long> byReason = new LinkedHashMap<>();
          traced.values().forEach(t -> t.instrumentation().failures()
              .forEach(f -> byReason.merge(io.goscope.platform.admin.ProbeSkipReason.classify(f), 1L, Long::sum)));
          return byReason;
        });
    m.counter(SelfMetrics.REATTACHMENTS, "Processes attached again after a restart (same service, new pid).",
        reattachments::get);
    m.counter(SelfMetrics.ATTACH_FAILURES, "Selected processes that could not be instrumented.",
        attachFailures::get);
    m.counterFamily(SelfMetrics.RECORDS, "Ring-buffer records decoded, by probe set.", List.of("probe_set"),
        () -> keyed(dispatcher.decodedByProbeSet()));
    m.counter(SelfMetrics.RINGBUF_RECORDS_READ, "Records read from the shared ring buffer.", reader::recordsRead);
    m.counter(SelfMetrics.RINGBUF_RESERVE_FAILURES, "Records the probes could not reserve in the full ring buffer.",
        () -> ringBufferDrops.getAsLong());
    m.counterFamily(SelfMetrics.RECORDS_LOST, "Records lost in the agent, by reason.", List.of("reason"),
        () -> keyed(dispatcher.lostByReason()));
    m.counterFamily(SelfMetrics.SPANS_DROPPED, "Spans dropped before export, by reason.", List.of("reason"),
        () -> keyed(pipeline.droppedSpansByReason()));
    m.counter(SelfMetrics.SPANS_SAMPLED_OUT, "Spans not kept by sampling (not a loss).", SampledSink::sampledOutTotal);
    m.counter(SelfMetrics.SPANS_EXPORTED, "Spans every exporter accepted.", pipeline::exportedSpans);
    m.counterFamily(SelfMetrics.SPANS_EXPORT_FAILED, "Spans lost because their export failed, by reason.",
        List.of("reason"), () -> keyed(pipeline.failedSpansByReason()));
    m.counterFamily(SelfMetrics.EXPORTS, "Export calls by signal and outcome.", List.of("signal", "outcome"), () -> {
      Map<List<String>, Long> out = new LinkedHashMap<>();
      pipeline.exportsByOutcome().forEach((k, v) -> out.put(List.of("traces", k), v));
      out.put(List.of("metrics", "success"), metrics.successfulExports());
      metrics.failedExportsByReason().forEach((k, v) -> out.put(List.of("metrics", k), v));
      return out;
    });
    m.gauge(SelfMetrics.SPAN_QUEUE_SIZE, "Spans waiting for export.", pipeline::queuedSpans);
    m.gauge(SelfMetrics.SPAN_QUEUE_CAPACITY, "Capacity of the span export queue.", pipeline::maxQueueSize);
    m.counterFamily(SelfMetrics.MEASUREMENTS_DROPPED, "Histogram measurements dropped, by reason.", List.of("reason"),
        () -> keyed(metrics.droppedMeasurementsByReason()));
    m.counter(SelfMetrics.METRIC_POINTS_EXPORTED, "Histogram points every metric exporter accepted.",
        metrics::exportedPoints);
    m.gauge(SelfMetrics.METRIC_SERIES, "Metric series held now.", metrics::seriesCount);
  }

  private static Map<List<String>, Long> keyed(Map<String, Long> m) {
    Map<List<String>, Long> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(List.of(k), v));
    return out;
  }

  /**
   * Starts the admin endpoint ({@code GOSCOPE_ADMIN_ADDR}, default {@code :6060}) before {@link #start()}, so that
   * probes see "not ready" rather than "connection refused" while plugins load. A bind failure is logged and the
   * agent runs on without it. Idempotent.
   *
   * @return the bound address, or empty when turned off or not bound
   */
  public synchronized Optional<InetSocketAddress> startAdmin() {
    if (admin != null) {
      return Optional.of(admin.address());
    }
    Optional<InetSocketAddress> address = AdminServer.parseAddress(config.adminAddress());
    if (address.isEmpty()) {
      log.info("admin endpoint off (GOSCOPE_ADMIN_ADDR)");
      return Optional.empty();
    }
    try {
      admin = AdminServer.start(address.get(), health, selfMetrics);
      return Optional.of(admin.address());
    } catch (RuntimeException e) {
      log.warn("admin endpoint not started; health and metrics unavailable reason={}", e.getMessage());
      return Optional.empty();
    }
  }

  /** The liveness and readiness checks served on /healthz and /readyz. */
  public Health health() {
    return health;
  }

  /** The agent's own metrics, served on /metrics; register or re-point metrics here. */
  public SelfMetrics selfMetrics() {
    return selfMetrics;
  }

  /** For tests: stops the ring-buffer reader's thread as a crash would (nothing else changes). */
  void stopDrainThreadForTest() {
    drain.shutdownNow();
  }

  /** Number of processes currently instrumented. */
  public int instrumentedCount() {
    return traced.size();
  }

  public long reattachments() {
    return reattachments.get();
  }

  /** The record dispatcher, for counters. */
  public RecordDispatcher dispatcher() {
    return dispatcher;
  }

  public TelemetryPipeline pipeline() {
    return pipeline;
  }

  public MetricPipeline metrics() {
    return metrics;
  }

  /** Detaches everything, flushes telemetry and frees every kernel object. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    long deadline = System.nanoTime() + config.shutdownTimeout().toNanos();
    log.info("agent stopping instrumented={} gracePeriod={}", traced.size(), config.shutdownTimeout());
    shutdown(discovery);
    for (DiscoverySource s : sources) {
      try {
        s.close();
      } catch (RuntimeException e) {
        log.debug("source close failed name={} reason={}", s.name(), e.toString());
      }
    }
    if (rulesDirectory != null) {
      rulesDirectory.close();
    }
    for (Integer pid : List.copyOf(traced.keySet())) {
      Traced t = traced.remove(pid);
      if (t != null) {
        detacher.execute(t.instrumentation()::close);
      }
    }
    detacher.shutdown();
    try {
      // Half the grace period at most: flushing the queues needs the rest.
      long detachWait = Math.max(TimeUnit.SECONDS.toNanos(1), (deadline - System.nanoTime()) / 2);
      if (!detacher.awaitTermination(detachWait, TimeUnit.NANOSECONDS)) {
        log.warn("detach still running after {} ms; exiting anyway (the kernel removes the probes with the agent)",
            detachWait / 1_000_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    shutdown(drain);
    if (reader != null) {
      drainOnce();
      reader.close();
    }
    drainBeat.stop();
    discoveryBeat.stop();
    flushOnStop(deadline);
    if (offsetBundles != null) {
      offsetBundles.close();
    }
    if (ringBuffer != null) {
      ringBuffer.close();
    }
    if (plugins != null) {
      plugins.close();
    }
    if (admin != null) {
      admin.close();
    }
    if (dispatcher != null) {
      log.info("agent stopped records={} unknownProcess={} malformed={} reattachments={} attachFailures={}",
          dispatcher.dispatched(), dispatcher.unknownProcess(), dispatcher.malformed(), reattachments.get(),
          attachFailures.get());
    }
  }

  /**
   * Flushes the span queue and the last metric collection within what is left of the grace period, and logs how
   * many spans went out, failed, and were dropped (offered too late, or still queued when the time ran out).
   */
  private void flushOnStop(long deadline) {
    if (pipeline == null) {
      return;
    }
    long exportedBefore = pipeline.exportedSpans();
    long failedBefore = pipeline.failedSpans();
    long droppedBefore = pipeline.droppedSpans();
    int queuedBefore = pipeline.queuedSpans();
    long t0 = System.nanoTime();
    boolean spansDone = pipeline.shutdown()
        .join(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS).isDone();
    boolean metricsDone = metrics == null || metrics.shutdown() // one final collection and export
        .join(Math.max(TimeUnit.MILLISECONDS.toNanos(100), deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
        .isDone();
    int left = spansDone ? 0 : pipeline.queuedSpans();
    log.info("export queues flushed spansQueued={} spansFlushed={} spansFailed={} spansDropped={} "
            + "spansExportedTotal={} spansDroppedTotal={} measurementsDroppedTotal={} metricsFlushed={} millis={}",
        queuedBefore, pipeline.exportedSpans() - exportedBefore, pipeline.failedSpans() - failedBefore,
        pipeline.droppedSpans() - droppedBefore + left, pipeline.exportedSpans(), pipeline.droppedSpans() + left,
        metrics == null ? 0 : metrics.droppedMeasurements(), metricsDone, (System.nanoTime() - t0) / 1_000_000);
  }

  private static void shutdown(@Nullable ScheduledExecutorService s) {
    if (s == null) {
      return;
    }
    s.shutdownNow();
    try {
      s.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
