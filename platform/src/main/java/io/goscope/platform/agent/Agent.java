package io.goscope.platform.agent;

import static java.util.Objects.requireNonNull;

import io.goscope.api.DiscoveryContext;
import io.goscope.api.DiscoverySource;
import io.goscope.api.FunctionProbe;
import io.goscope.api.Nullable;
import io.goscope.api.ProbeSet;
import io.goscope.api.ProcessInfo;
import io.goscope.api.RecordHeader;
import io.goscope.api.WorkloadMetadata;
import io.goscope.platform.admin.AdminServer;
import io.goscope.platform.admin.Health;
import io.goscope.platform.admin.Heartbeat;
import io.goscope.platform.admin.SelfHistogram;
import io.goscope.platform.admin.SelfMetrics;
import io.goscope.platform.admin.SelfMetricsData;
import io.goscope.platform.discovery.GoDetector;
import io.goscope.platform.discovery.ProcFs;
import io.goscope.platform.discovery.ProcessScanner;
import io.goscope.platform.discovery.kubernetes.KubernetesMetadata;
import io.goscope.platform.export.ExporterRegistry;
import io.goscope.platform.export.MetricPipeline;
import io.goscope.platform.export.ResourceFactory;
import io.goscope.platform.export.TelemetryPipeline;
import io.goscope.platform.gobinary.FieldResolver;
import io.goscope.platform.gobinary.OffsetBundleDirectory;
import io.goscope.platform.instrument.BinaryAnalyzer;
import io.goscope.platform.instrument.GoroutineProbeSet;
import io.goscope.platform.instrument.HostMaps;
import io.goscope.platform.instrument.Instrumentor;
import io.goscope.platform.instrument.ProbeObjects;
import io.goscope.platform.instrument.ProbePlanner;
import io.goscope.platform.instrument.PropagationSupport;
import io.goscope.platform.instrument.SocketPropagation;
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
import io.goscope.platform.sys.Clocks;
import io.goscope.platform.sys.FileSystems;
import io.goscope.platform.sys.RingBufferReader;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent: wires discovery, rules, binary analysis, the kernel side and the telemetry pipelines together,
 * and starts and stops them. What happens to each process is decided by the {@link ProcessLifecycle}.
 *
 * <p>Threads: {@code goscope-discovery} (the life cycle: decisions, reconcile and attaches, one process at a time),
 * {@code goscope-proc-poll}, {@code goscope-detach} (uprobe removal, which waits for kernel grace periods),
 * {@code goscope-ringbuf} (drain every 10 ms, decode, hand to the export queue; never blocks), the export worker
 * of the {@link TelemetryPipeline} and the periodic collector of the {@link MetricPipeline}.
 */
public final class Agent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Agent.class);
  /** Goscope's version, for {@code telemetry.distro.version}. */
  public static final String VERSION = "0.1.0";
  /** Threads that close uprobe links; each close waits for a kernel grace period, so they run side by side. */
  private static final int DETACH_THREADS = 4;
  /** How long records of a detached process keep being routed: they may still be in the ring buffer. */
  private static final long DRAIN_DELAY_MILLIS = 2000;

  private final AgentConfig config;
  private final List<SpanExporter> extraExporters;
  private final List<Consumer<AgentEvent>> listeners = new CopyOnWriteArrayList<>();

  private PluginHost plugins;
  private List<ProbeSetRuntime> runtimes = List.of();
  private HostMaps hostMaps;
  private RingBufferReader reader;
  private RecordDispatcher dispatcher;
  private TelemetryPipeline pipeline;
  private MetricPipeline metrics;
  @Nullable private OffsetBundleDirectory offsetBundles;
  private List<?> lastBundleTables = List.of();
  private BinaryAnalyzer analyzer;
  private ProbeObjects probeObjects;
  private Instrumentor instrumentor;
  private ResourceFactory resources;
  private ProcFs procFs;
  private ProcessScanner scanner;
  private ProcessLifecycle lifecycle;
  private final GoDetector goDetector = new GoDetector();
  private final List<DiscoverySource> sources = new ArrayList<>();
  private final AtomicReference<RuleSet> rules = new AtomicReference<>();
  @Nullable private RulesDirectory rulesDirectory;
  private ScheduledExecutorService discovery;
  private ScheduledExecutorService drain;
  private final ThreadPoolExecutor detacher = new ThreadPoolExecutor(
      DETACH_THREADS, DETACH_THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), daemon("goscope-detach"));
  /** Kernel time of the exec event being handled, per pid, for the exec-to-attached latency. */
  private final Map<Integer, Long> execTimes = new ConcurrentHashMap<>();
  /** Resources routed per pid, so a re-route or unroute retires the old metric series. */
  private final Map<Integer, Resource> routed = new ConcurrentHashMap<>();
  private final LongAdder sampledOut = new LongAdder();
  private final BinaryFileWatch fileWatch = new BinaryFileWatch();
  private Map<String, String> unavailableFeatures = Map.of();
  private PropagationSupport propagation;
  @Nullable private volatile SocketPropagation socketPropagation;
  @Nullable private Clocks clocks;
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

    hostMaps = HostMaps.create(config.ringBufferBytes(),
        new HostMaps.Sizes(HostMaps.Sizes.DEFAULT.processes(), config.contextEntries(),
            HostMaps.Sizes.DEFAULT.binaries()));
    reader = new RingBufferReader(hostMaps.ringBuffer());
    dispatcher = new RecordDispatcher(runtimes);
    dispatcher.setHostHandler(ProbeSetDescriptorHost.PROCESS_SEEN, this::onProcessSeen);
    if (config.offsetsDir() != null) {
      offsetBundles = OffsetBundleDirectory.watch(config.offsetsDir(), OffsetBundleDirectory.DEFAULT_RESCAN);
    }
    analyzer = new BinaryAnalyzer(new ProbePlanner(new FieldResolver(List.of(), offsetBundles)), runtimes,
        BinaryAnalyzer.DEFAULT_CAPACITY);
    Optional<String> socketUnavailable = BpfFeatures.socketProgramsUnavailableReason();
    if (socketUnavailable.isEmpty() && BpfFeatures.memoryWriteUnavailableReason().isPresent()) {
      Optional<Path> cgroupRoot = FileSystems.firstCgroup2(config.cgroupRootCandidates());
      if (cgroupRoot.isPresent()) {
        socketPropagation = new SocketPropagation(hostMaps, cgroupRoot.get());
      } else {
        socketUnavailable = Optional.of("no cgroup v2 hierarchy at " + config.cgroupRootCandidates()
            + " (mount the host's /sys/fs/cgroup, or set GOSCOPE_CGROUP_ROOT)");
      }
    }
    propagation = PropagationSupport.decide(BpfFeatures.memoryWriteUnavailableReason(), socketUnavailable);
    unavailableFeatures = propagation.unavailable();
    log.info("propagation support=\"{}\"", propagation.summary());
    boolean uprobeMulti = config.uprobeMulti() && BpfFeatures.uprobeMultiUnavailableReason().isEmpty();
    log.info("uprobe attach mode={}{}", uprobeMulti ? "uprobe-multi links" : "perf-event uprobes",
        config.uprobeMulti() ? BpfFeatures.uprobeMultiUnavailableReason().map(r -> " reason=\"" + r + "\"").orElse("")
            : " (GOSCOPE_UPROBE_MULTI=false)");
    probeObjects = new ProbeObjects(hostMaps, unavailableFeatures.keySet(), ProbeObjects.DEFAULT_KEEP_NANOS,
        System::nanoTime, uprobeMulti);
    instrumentor = new Instrumentor(probeObjects, unavailableFeatures,
        feature -> FunctionProbe.SOCKET_PROPAGATION.equals(feature) && socketPropagation != null
            ? socketPropagation.start() : Optional.empty());

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
    lifecycle = ProcessLifecycle.builder()
        .processes(new ProcAdapter())
        .rules(new RulesAdapter())
        .binaries(new BinariesAdapter())
        .kernel(new KernelAdapter())
        .telemetry(new TelemetryAdapter())
        .scheduler((task, delayMillis) -> schedule(task, delayMillis))
        .detacher(detacher)
        .events(this::fire)
        .fileWatch(fileWatch)
        .drainDelayMillis(DRAIN_DELAY_MILLIS)
        .monotonicNanos(() -> clocks == null ? -1 : clocks.monotonicNanos())
        .propagationFeatures(propagation.features())
        .build();
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

  /** Host record types of source 0 that the agent itself handles (goscope_context.h). */
  private static final class ProbeSetDescriptorHost {
    static final int PROCESS_SEEN = 3;
  }

  private List<ProbeSetRuntime> loadProbeSets(List<ProbeSet> sets) {
    List<ProbeSetRuntime> result = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    ids.add(GoroutineProbeSet.ID);
    int next = 1;
    for (ProbeSet set : sets) {
      try {
        String id = set.descriptor().id();
        if (!ids.add(id)) {
          log.error("probe set ignored id={} reason=duplicate id", id);
          continue;
        }
        result.add(ProbeSetRuntime.load(next, set));
        log.info("probe set loaded id={} source={} probes={}", id, next, set.descriptor().probes().size());
        next++;
      } catch (Exception | LinkageError e) {
        log.error("probe set unusable class={} reason={}", set.getClass().getName(), e.toString());
      }
    }
    if (result.isEmpty()) {
      log.warn("no probe sets loaded from {}: nothing will be traced", config.pluginsDir());
      return result;
    }
    try {
      result.add(ProbeSetRuntime.load(next, new GoroutineProbeSet()));
    } catch (Exception | LinkageError e) {
      log.error("goroutine probes unusable: spans of goroutines a request spawns will start traces of their own "
          + "reason={}", e.toString());
    }
    return result;
  }

  private void startSources() {
    sources.add(new ProcDiscoverySource(scanner, config.pollInterval(), hostMaps, dispatcher, execTimes));
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
            lifecycle.consider(pid, false, execTimes.getOrDefault(pid, 0L));
          } finally {
            execTimes.remove(pid);
          }
        });
      }

      @Override
      public void processExited(int pid) {
        submit(() -> lifecycle.exited(pid));
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

  /** A probe of a published binary selected a new process (reader thread): hold its records, decide soon. */
  private void onProcessSeen(ByteBuffer record, RecordHeader header) {
    int pid = header.pid();
    int binary = record.remaining() >= RecordHeader.SIZE + 4 ? record.getInt(record.position() + RecordHeader.SIZE)
        : 0;
    dispatcher.hold(pid);
    submit(() -> {
      lifecycle.provisionallySelected(pid, binary, execTimes.getOrDefault(pid, 0L));
      if (!lifecycle.isTraced(pid)) {
        schedule(() -> dispatcher.discardHeld(pid), DRAIN_DELAY_MILLIS);
      }
    });
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

  /** Runs {@code task} on the discovery thread after {@code delayMillis}. */
  private void schedule(Runnable task, long delayMillis) {
    if (!closed) {
      try {
        discovery.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        log.debug("discovery task rejected reason={}", e.toString());
      }
    }
  }

  private void requestReconcile() {
    submit(this::reconcile);
  }

  private void reconcile() {
    try {
      if (offsetBundles != null) {
        List<?> tables = offsetBundles.tables();
        if (!tables.equals(lastBundleTables)) {
          // New or changed offset bundles: plans with missing fields may now resolve.
          lastBundleTables = tables;
          analyzer.invalidate();
        }
      }
      lifecycle.reconcile();
      probeObjects.evictIdle();
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

  private Resource resourceFor(ProcessLifecycle.TracedIdentity identity) {
    RuleOptions options = identity.selection().options();
    AttributesBuilder discovered = identity.metadata().map(WorkloadMetadata::resource).orElse(Attributes.empty())
        .toBuilder();
    options.resourceAttributes().forEach(discovered::put);
    if (options.serviceName() != null) {
      discovered.put(ResourceFactory.SERVICE_NAME, options.serviceName());
    }
    return resources.create(identity.info(), identity.goVersion(), discovered.build());
  }

  // ---- adapters the life cycle works through ----------------------------------------------------------------

  private final class ProcAdapter implements ProcessLifecycle.Processes {
    @Override
    public Optional<io.goscope.platform.discovery.ProcessSnapshot> snapshot(int pid) {
      if (closed || pid == ProcessHandle.current().pid()) {
        return Optional.empty();
      }
      return procFs.snapshot(pid);
    }

    @Override
    public boolean isAlive(int pid) {
      return procFs.isAlive(pid);
    }

    @Override
    public Optional<io.goscope.platform.discovery.ExecutableKey> executableKey(int pid) {
      return procFs.executableKey(pid);
    }

    @Override
    public java.util.Collection<Integer> known() {
      return scanner.known();
    }

    @Override
    public Optional<List<String>> cmdline(int pid) {
      return procFs.cmdline(pid);
    }

    @Override
    public Optional<Long> startTime(int pid) {
      return procFs.startTime(pid);
    }
  }

  private final class RulesAdapter implements ProcessLifecycle.Rules {
    @Override
    public Optional<WorkloadMetadata> describe(ProcessInfo info) {
      return Agent.this.describe(info);
    }

    @Override
    public Optional<Selection> select(ProcessInfo info, Optional<WorkloadMetadata> metadata) {
      return rules.get().select(info, metadata);
    }
  }

  private final class BinariesAdapter implements ProcessLifecycle.Binaries {
    @Override
    public Optional<Boolean> isGo(io.goscope.platform.discovery.ProcessSnapshot s) {
      return goDetector.isGoBinary(s.exeLink(), s.executableKey());
    }

    @Override
    public ProcessLifecycle.Target locate(io.goscope.platform.discovery.ProcessSnapshot s) {
      return AttachTarget.locate(s, config.binariesDir(), config.binaryLinger().toMillis(),
          config.hostBinaryLinger().toMillis(), config.hostProc().resolve("1/root"));
    }

    @Override
    public BinaryAnalyzer.Analysis analyze(ProcessLifecycle.Target target) {
      long t0 = System.nanoTime();
      BinaryAnalyzer.Analysis a = analyzer.analyze(target.readPath(), new BinaryAnalyzer.FileKey(
          target.key().device(), target.key().inode(), target.key().mtimeNanos()));
      analysisTime.record((System.nanoTime() - t0) / 1e9);
      return a;
    }
  }

  private final class KernelAdapter implements ProcessLifecycle.Kernel {
    @Override
    public ProcessLifecycle.Attachment attach(int binaryId, int pid, ProcessLifecycle.Target target,
        Map<ProbeSetRuntime, io.goscope.platform.instrument.ProbePlan> plans, Set<String> features) {
      if (plans.entrySet().stream().noneMatch(e -> !e.getKey().id().equals(GoroutineProbeSet.ID)
          && e.getValue().attachable())) {
        throw new io.goscope.api.GoscopeException("no probe set can attach: " + plans.values().stream()
            .filter(p -> !p.probeSetId().equals(GoroutineProbeSet.ID)).map(p -> p.probeSetId() + ": "
                + p.failure()).toList());
      }
      io.goscope.platform.instrument.BinaryAttachment a =
          instrumentor.attach(binaryId, pid, target.attachPath().toString(), plans, features);
      return new ProcessLifecycle.Attachment() {
        @Override
        public Map<String, Integer> uprobesBySet() {
          return a.uprobesBySet();
        }

        @Override
        public List<String> failures() {
          return a.failures();
        }

        @Override
        public Set<String> features() {
          return a.features();
        }

        @Override
        public String enable(String feature) {
          return instrumentor.enable(a, feature);
        }

        @Override
        public void close(Runnable beforeEachLink) {
          a.close(beforeEachLink);
        }
      };
    }

    @Override
    public void select(int pid, HostMaps.ProcessSettings settings) {
      hostMaps.putProcess(pid, settings);
    }

    @Override
    public void decline(int pid) {
      hostMaps.declineProcess(pid);
      dispatcher.discardHeld(pid);
    }

    @Override
    public void forget(int pid) {
      try {
        hostMaps.removeProcess(pid);
      } catch (RuntimeException e) {
        log.debug("forget process failed pid={} reason={}", pid, e.toString());
      }
    }

    @Override
    public void publishBinary(int binaryId, HostMaps.ProcessSettings settings, boolean selectNew) {
      hostMaps.putBinary(binaryId, settings, selectNew);
    }

    @Override
    public void unpublishBinary(int binaryId) {
      try {
        hostMaps.removeBinary(binaryId);
      } catch (RuntimeException e) {
        log.debug("unpublish binary failed binary={} reason={}", binaryId, e.toString());
      }
    }
  }

  private final class TelemetryAdapter implements ProcessLifecycle.Telemetry {
    @Override
    public void route(int pid, ProcessLifecycle.TracedIdentity identity) {
      Resource resource = resourceFor(identity);
      TracedProcessContext process = new TracedProcessContext(pid, identity.selection().options().probeOptions(),
          errorTypeNames(pid, identity.analysis()));
      io.goscope.api.TelemetrySink sink = new SampledSink(process.wrap(metrics.sinkFor(resource,
          pipeline.sinkFor(resource))), sampledOut);
      dispatcher.register(pid, sink);
      Resource before = routed.put(pid, resource);
      if (before != null && !before.equals(resource)) {
        metrics.retire(before); // its series are exported once more, then freed
      }
    }

    @Override
    public void unroute(int pid, ProcessLifecycle.TracedIdentity identity) {
      dispatcher.unregister(pid);
      Resource before = routed.remove(pid);
      if (before != null) {
        metrics.retire(before);
      }
    }
  }

  /**
   * Names of the process's Go error types by their runtime address: the binary's error types (link addresses from
   * its analysis) shifted by the load bias of a position-independent binary (Go links PIE binaries at 0, so the
   * bias is where the executable's first mapping starts in /proc/pid/maps).
   */
  private java.util.function.LongFunction<Optional<String>> errorTypeNames(int pid,
      @Nullable BinaryAnalyzer.Analysis analysis) {
    if (analysis == null || analysis.errorTypes().isEmpty()) {
      return address -> Optional.empty();
    }
    long bias = 0;
    if (analysis.pie()) {
      try {
        bias = procFs.loadBias(pid).orElse(0L);
      } catch (RuntimeException e) {
        log.debug("load bias unreadable pid={} reason={}", pid, e.toString());
      }
    }
    long loadBias = bias;
    Map<Long, String> types = analysis.errorTypes();
    return address -> Optional.ofNullable(types.get(address - loadBias));
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
    if (e.kind() == AgentEvent.Kind.ATTACHED && e.execToAttachedMicros() >= 0) {
      execToAttached.record(e.execToAttachedMicros() / 1e6);
    }
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
   * kernel could not write (host-owned per-source counters, which survive detaches), records no decoder or process
   * claimed, spans and measurements the export queues dropped, export failures, and spans of unsampled traces.
   */
  private void logStats() {
    io.goscope.platform.sys.NativeMemory.trim();
    long ringDrops = -1;
    Map<String, Long> bySource = new java.util.TreeMap<>();
    try {
      ringDrops = hostMaps.lostRecords();
      if (ringDrops > 0) {
        long host = hostMaps.lostRecords(0);
        if (host > 0) {
          bySource.put("host", host); // exec/exit events of the whole node, and process announcements
        }
        bySource.putAll(byProbeSet(hostMaps::lostRecords));
      }
    } catch (RuntimeException e) {
      log.debug("loss counters unreadable reason={}", e.toString());
    }
    Map<String, Long> unmatched = unmatchedReturns();
    log.info("stats instrumented={} binaries={} bpfObjects={} records={} ringBufferDrops={} ringBufferDropsBySource={} "
            + "unmatchedReturns={} unknownProcess={} malformed={} heldDropped={} spansExported={} spansDropped={} "
            + "spansFailed={} sampledOut={} measurementsDropped={} attachFailures={} reattachments={} "
            + "attachesAvoided={}",
        lifecycle.instrumentedCount(), lifecycle.binaryCount(), probeObjects.loadedCount(), dispatcher.dispatched(),
        ringDrops, bySource, unmatched, dispatcher.unknownProcess(), dispatcher.malformed(), dispatcher.heldDropped(),
        pipeline.exportedSpans(), pipeline.droppedSpans(), pipeline.failedSpans(), sampledOut.sum(),
        metrics.droppedMeasurements(), lifecycle.attachFailures(), lifecycle.reattachments(),
        lifecycle.attachesAvoided());
    SocketPropagation sockets = socketPropagation;
    if (sockets != null && sockets.started()) {
      try {
        SocketPropagation.Stats st = sockets.stats();
        log.info("stats socketPropagation watchedConnections={} watchFailed={} inserted={} skippedOwn={} unsure={} "
            + "mismatched={} expired={} failed={} split={}", st.watched(), st.watchFailed(), st.inserted(),
            st.skipped(), st.unsure(), st.mismatched(), st.expired(), st.failed(), st.split());
      } catch (RuntimeException e) {
        log.debug("socket propagation counters unreadable reason={}", e.toString());
      }
    }
  }

  /** The socket programs' counters, or {@link SocketPropagation.Stats#NONE} when they are not running. */
  public SocketPropagation.Stats socketPropagationStats() {
    SocketPropagation sockets = socketPropagation;
    return sockets == null ? SocketPropagation.Stats.NONE : sockets.stats();
  }

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
   * Names every counter the agent keeps in {@link #selfMetrics()}, each read from where it is counted: the life
   * cycle's totals (which survive detaches), the host-owned per-source loss counters of the shared ring buffer,
   * the dispatcher's, the export pipelines', the socket programs'.
   */
  private void registerSelfMetrics() {
    SelfMetrics m = selfMetrics;
    m.info(SelfMetrics.BUILD_INFO, "Goscope build information.", Map.of("version", VERSION,
        "java_version", System.getProperty("java.version", "unknown")));
    m.gauge(SelfMetrics.PROCESSES_INSTRUMENTED, "Processes with probes attached now.", lifecycle::instrumentedCount);
    m.gaugeFamily(SelfMetrics.PROBES_ATTACHED, "Uprobes attached now, by probe set (a binary attached for all its "
        + "processes counts once).", List.of("probe_set"), () -> {
          Map<List<String>, Long> byset = new LinkedHashMap<>();
          runtimes.forEach(r -> byset.put(List.of(r.id()), 0L));
          lifecycle.uprobesBySet().forEach((set, n) -> byset.merge(List.of(set), n, Long::sum));
          return byset;
        });
    m.gaugeFamily(SelfMetrics.PROBES_SKIPPED, "Probes or probe sets of instrumented processes not attached, by "
        + "reason.", List.of("probe_set", "reason"), () -> {
          Map<List<String>, Long> byReason = new LinkedHashMap<>();
          lifecycle.attachmentFailures().forEach(
              f -> byReason.merge(io.goscope.platform.admin.ProbeSkipReason.classify(f), 1L, Long::sum));
          return byReason;
        });
    m.counter(SelfMetrics.REATTACHMENTS, "Processes attached again after a restart (same service, new pid).",
        lifecycle::reattachments);
    m.counter(SelfMetrics.ATTACH_FAILURES, "Selected processes that could not be instrumented.",
        lifecycle::attachFailures);
    m.counterFamily(SelfMetrics.RECORDS, "Ring-buffer records decoded, by probe set.", List.of("probe_set"),
        () -> keyed(dispatcher.decodedByProbeSet()));
    m.counter(SelfMetrics.RINGBUF_RECORDS_READ, "Records read from the shared ring buffer.", reader::recordsRead);
    m.counter(SelfMetrics.RINGBUF_RESERVE_FAILURES, "Records the probes could not reserve in the full ring buffer.",
        hostMaps::lostRecords);
    m.counterFamily(SelfMetrics.RECORDS_LOST, "Records lost in the agent, by reason.", List.of("reason"),
        () -> keyed(dispatcher.lostByReason()));
    m.counterFamily(SelfMetrics.CALLS_UNMATCHED, "Returns of probed calls with no call in flight, by probe set: calls "
            + "running when the process was selected, or entries evicted from a full in-flight map (spans lost).",
        List.of("probe_set"), () -> keyed(unmatchedReturns()));
    m.counterFamily(SelfMetrics.SPANS_DROPPED, "Spans dropped before export, by reason.", List.of("reason"),
        () -> keyed(pipeline.droppedSpansByReason()));
    m.counter(SelfMetrics.SPANS_SAMPLED_OUT, "Spans not kept by sampling (not a loss).", sampledOut::sum);
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
    m.gauge(SelfMetrics.BPF_OBJECTS_LOADED, "BPF objects loaded now (one per probe set and offset set).",
        probeObjects::loadedCount);
    m.gauge(SelfMetrics.BINARIES_ATTACHED, "Binaries attached for all their processes now.", lifecycle::binaryCount);
    m.counter(SelfMetrics.ATTACHES_AVOIDED, "Selected processes whose binary was attached already (no uprobe placed).",
        lifecycle::attachesAvoided);
    m.counterFamily(SelfMetrics.PROPAGATION_SOCKET, "Socket-level propagation, by event (connections watched, "
        + "headers inserted, skipped for the application's own, unsure, ...).", List.of("event"), () -> {
          SocketPropagation.Stats st = socketPropagationStats();
          Map<List<String>, Long> out = new LinkedHashMap<>();
          out.put(List.of("watched"), st.watched());
          out.put(List.of("watch_failed"), st.watchFailed());
          out.put(List.of("inserted"), st.inserted());
          out.put(List.of("skipped"), st.skipped());
          out.put(List.of("unsure"), st.unsure());
          out.put(List.of("mismatched"), st.mismatched());
          out.put(List.of("expired"), st.expired());
          out.put(List.of("failed"), st.failed());
          out.put(List.of("split"), st.split());
          return out;
        });
  }

  /** Returns without a call in flight, by probe set id (only sets with some). */
  private Map<String, Long> unmatchedReturns() {
    try {
      return byProbeSet(hostMaps::unmatchedReturns);
    } catch (RuntimeException e) {
      log.debug("unmatched-return counters unreadable reason={}", e.toString());
      return Map.of();
    }
  }

  /** A per-source kernel counter of the host maps, by probe set id, in id order; sets at 0 are left out. */
  private Map<String, Long> byProbeSet(java.util.function.IntToLongFunction countOfSource) {
    Map<String, Long> out = new java.util.TreeMap<>();
    for (ProbeSetRuntime r : runtimes) {
      long n = countOfSource.applyAsLong(r.sourceId());
      if (n > 0) {
        out.put(r.id(), n);
      }
    }
    return out;
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
    return lifecycle.instrumentedCount();
  }

  public long reattachments() {
    return lifecycle.reattachments();
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

  /** The host's shared maps (loss counters, kernel memory). */
  public HostMaps hostMaps() {
    return hostMaps;
  }

  /** The loaded BPF objects (how many, their maps' kernel memory). */
  public ProbeObjects probeObjects() {
    return probeObjects;
  }

  /** Spans of unsampled traces, dropped by design (not a loss). */
  public long sampledOut() {
    return sampledOut.sum();
  }

  /** Detaches everything, flushes telemetry and frees every kernel object. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    long deadline = System.nanoTime() + config.shutdownTimeout().toNanos();
    log.info("agent stopping instrumented={} gracePeriod={}", lifecycle == null ? 0 : lifecycle.instrumentedCount(),
        config.shutdownTimeout());
    if (discovery != null && lifecycle != null) {
      try {
        // Half the grace period at most for detaching: flushing the queues needs the rest.
        long wait = Math.max(TimeUnit.SECONDS.toNanos(1), (deadline - System.nanoTime()) / 2);
        discovery.submit(lifecycle::closeAll).get(wait, TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        log.warn("detach at stop incomplete reason={}", e.toString());
      }
    }
    closed = true;
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
    fileWatch.close();
    detacher.shutdown();
    try {
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
    if (probeObjects != null) {
      probeObjects.close();
    }
    if (socketPropagation != null) {
      socketPropagation.close();
    }
    if (hostMaps != null) {
      hostMaps.close();
    }
    if (plugins != null) {
      plugins.close();
    }
    if (admin != null) {
      admin.close();
    }
    if (dispatcher != null) {
      log.info("agent stopped records={} unknownProcess={} malformed={} reattachments={} attachFailures={}",
          dispatcher.dispatched(), dispatcher.unknownProcess(), dispatcher.malformed(), lifecycle.reattachments(),
          lifecycle.attachFailures());
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
