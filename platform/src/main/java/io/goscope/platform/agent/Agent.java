package io.goscope.platform.agent;

import static java.util.Objects.requireNonNull;

import io.goscope.api.DiscoveryContext;
import io.goscope.api.DiscoverySource;
import io.goscope.api.Nullable;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProcessInfo;
import io.goscope.api.WorkloadMetadata;
import io.goscope.platform.discovery.GoDetector;
import io.goscope.platform.discovery.ProcFs;
import io.goscope.platform.discovery.ProcFsException;
import io.goscope.platform.discovery.ProcessScanner;
import io.goscope.platform.discovery.ProcessSnapshot;
import io.goscope.platform.export.ExporterRegistry;
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
import io.goscope.platform.sys.RingBufferReader;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.nio.file.Files;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent: discovers processes, selects Go apps by rules, instruments each selected process in isolation,
 * drains the one shared ring buffer on a timer and exports telemetry.
 *
 * <p>Threads: {@code goscope-discovery} (poll /proc, reconcile, attach/detach, one process at a time so a slow or
 * failing process never blocks the others for long), {@code goscope-ringbuf} (drain every 10 ms, decode, hand to the
 * export queue; never blocks), and the export worker of the {@link TelemetryPipeline}.
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
  @Nullable private OffsetBundleDirectory offsetBundles;
  private BinaryAnalyzer analyzer;
  private Instrumentor instrumentor;
  private ResourceFactory resources;
  private ProcFs procFs;
  private ProcessScanner scanner;
  private final GoDetector goDetector = new GoDetector();
  private final List<DiscoverySource> sources = new ArrayList<>();
  private final AtomicReference<RuleSet> rules = new AtomicReference<>();
  @Nullable private RulesDirectory rulesDirectory;
  @Nullable private ProcessEvents processEvents;
  private ScheduledExecutorService discovery;
  private ScheduledExecutorService drain;

  private final Map<Integer, Traced> traced = new ConcurrentHashMap<>();
  /** Processes already decided against (pid → start time), so each is logged once, not every poll. */
  private final Map<Integer, Long> declined = new ConcurrentHashMap<>();
  /** Apps seen before, by service identity: a new pid of one counts as a re-attach (restart, rolling update). */
  private final Set<String> seenApps = ConcurrentHashMap.newKeySet();
  private final AtomicLong reattachments = new AtomicLong();
  private final AtomicLong attachFailures = new AtomicLong();
  private volatile boolean closed;

  private record Traced(ProcessSnapshot snapshot, Instrumentation instrumentation, String app) {}

  private Agent(AgentConfig config, List<SpanExporter> extraExporters) {
    this.config = requireNonNull(config, "config");
    this.extraExporters = List.copyOf(extraExporters);
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

    List<SpanExporter> exporters = new ArrayList<>(
        new ExporterRegistry(plugins.exporters()).create(config.properties()));
    exporters.addAll(extraExporters);
    pipeline = TelemetryPipeline.builder().exporters(exporters).build();
    resources = ResourceFactory.create(config.properties(), VERSION);

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
    startProcessEvents();
    startSources();
    long pollMs = Math.max(50, config.pollInterval().toMillis());
    discovery.scheduleWithFixedDelay(this::poll, 0, pollMs, TimeUnit.MILLISECONDS);
    long reconcileMs = Math.max(pollMs, config.reconcileInterval().toMillis());
    discovery.scheduleWithFixedDelay(this::reconcile, reconcileMs, reconcileMs, TimeUnit.MILLISECONDS);
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

  private void startProcessEvents() {
    try {
      processEvents = ProcessEvents.start(ringBuffer,
          pid -> submit(() -> {
            if (traced.containsKey(pid)) {
              detach(pid, "exec replaced the program");
            }
            declined.remove(pid);
            consider(pid);
          }),
          pid -> submit(() -> detach(pid, "exited")));
      dispatcher.setHostHandler(processEvents::onRecord);
    } catch (RuntimeException e) {
      log.warn("process events unavailable, relying on the /proc poll every {} reason={}", config.pollInterval(),
          e.getMessage());
    }
  }

  private void startSources() {
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
        submit(() -> consider(pid));
      }

      @Override
      public void processExited(int pid) {
        submit(() -> detach(pid, "exited"));
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

  private void poll() {
    try {
      ProcessScanner.Delta delta = scanner.scan();
      for (int pid : delta.exited()) {
        detach(pid, "exited");
        declined.remove(pid);
      }
      for (int pid : delta.started()) {
        consider(pid);
      }
    } catch (RuntimeException e) {
      log.warn("process poll failed reason={}", e.toString());
    }
  }

  /** Re-evaluates every live process against the rules; detaches processes no longer selected. */
  private void reconcile() {
    try {
      declined.clear();
      for (int pid : scanner.known()) {
        consider(pid);
      }
      for (Map.Entry<Integer, Traced> e : traced.entrySet()) {
        ProcessSnapshot s = e.getValue().snapshot();
        if (select(s.info()).isEmpty()) {
          detach(e.getKey(), "no longer selected by the rules");
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

  private Optional<Selection> select(ProcessInfo info) {
    return rules.get().select(info, describe(info));
  }

  /** Decides about one process and instruments it when selected. Never throws. */
  private void consider(int pid) {
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
        if (existing.snapshot().info().startTimeTicks() == s.info().startTimeTicks()) {
          return;
        }
        detach(pid, "pid reused");
      }
      Long declinedStart = declined.get(pid);
      if (declinedStart != null && declinedStart == s.info().startTimeTicks()) {
        return;
      }
      Optional<WorkloadMetadata> metadata = describe(s.info());
      Optional<Selection> selection = rules.get().select(s.info(), metadata);
      if (selection.isEmpty()) {
        declined.put(pid, s.info().startTimeTicks());
        return;
      }
      instrument(s, metadata, selection.get());
    } catch (ProcFsException e) {
      // Not yet known to be selected: an unreadable process (e.g. another user namespace's init) is not news.
      log.debug("process unreadable pid={} reason={}", pid, e.getMessage());
    } catch (RuntimeException e) {
      log.warn("process not instrumented pid={} reason={}", pid, e.getMessage());
    }
  }

  private void instrument(ProcessSnapshot s, Optional<WorkloadMetadata> metadata, Selection selection) {
    int pid = s.pid();
    long start = s.info().startTimeTicks();
    ProcessInfo info = s.info();
    Optional<Boolean> isGo = goDetector.isGoBinary(s.exeLink(), s.executableKey());
    if (isGo.isEmpty()) {
      declined.put(pid, start);
      log.warn("process not instrumented pid={} exe={} rule={} reason=executable unreadable",
          pid, info.executable(), selection.ruleName());
      return;
    }
    if (!isGo.get()) {
      declined.put(pid, start);
      log.warn("process not instrumented pid={} exe={} rule={} reason=not a Go binary", pid, info.executable(),
          selection.ruleName());
      return;
    }
    long t0 = System.nanoTime();
    AttachTarget target = AttachTarget.locate(s, config.binariesDir());
    BinaryAnalyzer.Analysis analysis;
    try {
      analysis = analyzer.analyze(target.readPath(), new BinaryAnalyzer.FileKey(s.executableKey().device(),
          s.executableKey().inode(), 0, s.executableKey().mtimeNanos()));
    } catch (RuntimeException e) {
      declined.put(pid, start);
      attachFailures.incrementAndGet();
      log.warn("process not instrumented pid={} exe={} reason={}", pid, info.executable(), e.getMessage());
      return;
    }
    Map<ProbeSetRuntime, ProbePlan> plans = new LinkedHashMap<>();
    RuleOptions options = selection.options();
    analysis.plans().forEach((rt, plan) -> {
      if (options.probeEnabled(rt.id())) {
        plans.put(rt, plan);
      }
    });
    AttributesBuilder discovered = metadata.map(WorkloadMetadata::resource).orElse(Attributes.empty()).toBuilder();
    options.resourceAttributes().forEach(discovered::put);
    if (options.serviceName() != null) {
      discovered.put(ResourceFactory.SERVICE_NAME, options.serviceName());
    }
    Resource resource = resources.create(info, analysis.binary().goVersion().toString(), discovered.build());
    dispatcher.register(pid, SampledSink.wrap(pipeline.sinkFor(resource), options.sampling()));
    Instrumentation instrumentation;
    try {
      instrumentation = instrumentor.attach(pid, target.attachPath().toString(), plans);
    } catch (RuntimeException e) {
      dispatcher.unregister(pid);
      declined.put(pid, start);
      attachFailures.incrementAndGet();
      boolean alive = Files.exists(procFs.processDir(pid));
      log.warn("process not instrumented pid={} exe={} reason={}", pid, info.executable(),
          alive ? e.getMessage() : "process exited during attach");
      return;
    }
    String app = resource.getAttribute(ResourceFactory.SERVICE_NAME) + "|"
        + metadata.map(WorkloadMetadata::namespace).orElse("");
    boolean again = !seenApps.add(app);
    if (again) {
      reattachments.incrementAndGet();
    }
    traced.put(pid, new Traced(s, instrumentation, app));
    long micros = (System.nanoTime() - t0) / 1000;
    log.info("process instrumented pid={} exe={} rule={} path={} via={} uprobes={} reattach={} micros={}", pid,
        info.executable(), selection.ruleName(), target.attachPath(), target.reason(),
        instrumentation.uprobesBySet(), again, micros);
    fire(new AgentEvent(AgentEvent.Kind.ATTACHED, pid, info.executableName(), micros));
  }

  private void detach(int pid, String why) {
    Traced t = traced.remove(pid);
    if (t == null) {
      return;
    }
    t.instrumentation().close();
    // Records already in the ring buffer are drained within one drain interval; keep routing until then.
    drain.schedule(() -> {
      if (!traced.containsKey(pid)) {
        dispatcher.unregister(pid);
      }
    }, 2, TimeUnit.SECONDS);
    log.info("process detached pid={} exe={} reason={}", pid, t.snapshot().info().executable(), why);
    fire(new AgentEvent(AgentEvent.Kind.DETACHED, pid, t.snapshot().info().executableName(), 0));
  }

  private void drainOnce() {
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

  /** Detaches everything, flushes telemetry and frees every kernel object. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    log.info("agent stopping instrumented={}", traced.size());
    shutdown(discovery);
    if (processEvents != null) {
      processEvents.close();
    }
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
        t.instrumentation().close();
      }
    }
    shutdown(drain);
    if (reader != null) {
      drainOnce();
      reader.close();
    }
    if (pipeline != null) {
      pipeline.shutdown().join(10, TimeUnit.SECONDS);
    }
    if (analyzer != null) {
      analyzer.close();
    }
    if (offsetBundles != null) {
      offsetBundles.close();
    }
    if (ringBuffer != null) {
      ringBuffer.close();
    }
    if (plugins != null) {
      plugins.close();
    }
    if (dispatcher != null) {
      log.info("agent stopped records={} unknownProcess={} malformed={} reattachments={} attachFailures={}",
          dispatcher.dispatched(), dispatcher.unknownProcess(), dispatcher.malformed(), reattachments.get(),
          attachFailures.get());
    }
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

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
