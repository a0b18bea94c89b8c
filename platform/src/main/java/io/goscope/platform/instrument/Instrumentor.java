package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.GoscopeException;
import io.goscope.api.Nullable;
import io.goscope.platform.sys.BpfLink;
import io.goscope.platform.sys.BpfObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes probe plans against one binary: takes each probe set's loaded object for the plan's constants from
 * {@link ProbeObjects} and attaches a uprobe at each function entry and at every return instruction (never a
 * uretprobe), for every process of the binary or for one process. Each uprobe's cookie carries the binary id in its
 * high 32 bits and the probe's own cookie in the low ones. A set that fails to attach is skipped with its reason;
 * the other sets still attach.
 */
public final class Instrumentor {
  private static final Logger log = LoggerFactory.getLogger(Instrumentor.class);

  private final ProbeObjects objects;
  private final Map<String, String> unavailableFeatures;
  private final java.util.function.Function<String, java.util.Optional<String>> featureStarter;

  /**
   * @param unavailableFeatures feature → why this host cannot run its probes (their programs are not loaded)
   */
  public Instrumentor(ProbeObjects objects, Map<String, String> unavailableFeatures) {
    this(objects, unavailableFeatures, feature -> java.util.Optional.empty());
  }

  /**
   * @param featureStarter called before a feature's probes first attach (e.g. to start the host programs they work
   *     with); a reason it returns fails the feature
   */
  public Instrumentor(ProbeObjects objects, Map<String, String> unavailableFeatures,
      java.util.function.Function<String, java.util.Optional<String>> featureStarter) {
    this.objects = requireNonNull(objects, "objects");
    this.unavailableFeatures = Map.copyOf(unavailableFeatures);
    this.featureStarter = requireNonNull(featureStarter, "featureStarter");
  }

  /**
   * Attaches the planned probe sets to a binary.
   *
   * @param binaryId the host's id of the binary, put into every cookie
   * @param pid the only process to trace, or -1 for every process that runs the binary
   * @param attachPath a path to the binary (same inode as the processes' /proc/pid/exe)
   * @param plans probe set runtime → its plan for this binary; unattachable plans are skipped
   * @param features optional features (e.g. {@link FunctionProbe#PROPAGATION}) to attach as well
   * @throws GoscopeException when no probe set could be attached (the message carries every reason)
   */
  public BinaryAttachment attach(int binaryId, int pid, String attachPath, Map<ProbeSetRuntime, ProbePlan> plans,
      Set<String> features) {
    BinaryAttachment a = new BinaryAttachment(binaryId, pid, attachPath, plans);
    try {
      for (Map.Entry<ProbeSetRuntime, ProbePlan> e : plans.entrySet()) {
        attachSet(a, e.getKey(), e.getValue(), null);
      }
      for (String feature : features) {
        enable(a, feature);
      }
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
    if (a.linkCount() == 0) {
      a.close();
      throw new GoscopeException("instrument binary=" + binaryId + " path=" + attachPath
          + (pid >= 0 ? " pid=" + pid : "") + ": nothing attached (" + String.join("; ", a.failures()) + ")");
    }
    return a;
  }

  /**
   * Attaches the probes of an optional feature to an existing attachment (a rule enabled it for a process of the
   * binary). Does nothing when they are attached already.
   *
   * @return why the feature cannot attach on this host or binary, or null when it did
   */
  @Nullable
  public String enable(BinaryAttachment a, String feature) {
    requireNonNull(feature, "feature");
    if (a.features().contains(feature)) {
      return null;
    }
    String unavailable = unavailableFeatures.get(feature);
    if (unavailable == null) {
      unavailable = featureStarter.apply(feature).orElse(null);
    }
    if (unavailable != null) {
      a.fail(feature + " unavailable: " + unavailable);
      return feature + " unavailable: " + unavailable;
    }
    int before = a.linkCount();
    for (Map.Entry<ProbeSetRuntime, ProbePlan> e : a.plans().entrySet()) {
      attachSet(a, e.getKey(), e.getValue(), feature);
    }
    a.enabled(feature);
    log.debug("feature attached binary={} feature={} uprobes={}", a.binaryId(), feature, a.linkCount() - before);
    return null;
  }

  /** Attaches the probes of one set that belong to {@code feature} (null: the probes of no feature). */
  private void attachSet(BinaryAttachment a, ProbeSetRuntime runtime, ProbePlan plan, @Nullable String feature) {
    if (!plan.attachable()) {
      if (feature == null && plan.applies()) {
        a.fail(runtime.id() + ": " + plan.failure());
      }
      return;
    }
    List<FunctionPlan> functions = plan.functions().stream()
        .filter(f -> f.willAttach() && java.util.Objects.equals(f.probe().feature(), feature)).toList();
    if (functions.isEmpty()) {
      return;
    }
    ProbeObjects.Loaded object;
    try {
      object = objects.acquire(runtime, plan.constants());
    } catch (RuntimeException ex) {
      a.fail(runtime.id() + ": " + ex.getMessage());
      log.debug("probe set not loaded binary={} set={} reason={}", a.binaryId(), runtime.id(), ex.getMessage());
      return;
    }
    List<BpfLink> setLinks = new ArrayList<>();
    try {
      for (FunctionPlan fp : functions) {
        try {
          attachFunction(object, fp, a, setLinks);
        } catch (RuntimeException ex) {
          if (fp.probe().failureMode() == FailureMode.ERROR) {
            throw ex;
          }
          a.fail(runtime.id() + " " + fp.symbol() + ": " + ex.getMessage());
          log.debug("probe not attached binary={} set={} symbol={} reason={}", a.binaryId(), runtime.id(),
              fp.symbol(), ex.getMessage());
        }
      }
    } catch (RuntimeException ex) {
      setLinks.forEach(BpfLink::close);
      object.release();
      a.fail(runtime.id() + ": " + ex.getMessage());
      return;
    }
    if (setLinks.isEmpty()) {
      object.release();
      return;
    }
    a.add(object, setLinks);
    log.debug("probe set attached binary={} pid={} set={} feature={} links={} uprobes={} path={}", a.binaryId(),
        a.pid(), runtime.id(), feature, setLinks.size(), setLinks.stream().mapToInt(BpfLink::uprobeCount).sum(),
        a.attachPath());
  }

  private static void attachFunction(ProbeObjects.Loaded object, FunctionPlan fp, BinaryAttachment a,
      List<BpfLink> out) {
    FunctionProbe probe = fp.probe();
    long cookie = ((long) a.binaryId() << 32) | (probe.cookie() & 0xffffffffL);
    BpfObject o = object.object();
    List<BpfLink> mine = new ArrayList<>();
    try {
      if (probe.entryProgram() != null) {
        mine.add(o.usesUprobeMulti()
            ? o.attachUprobeMulti(probe.entryProgram(), a.pid(), a.attachPath(),
                new long[] {fp.entrySite()}, new long[] {cookie})
            : o.attachUprobe(probe.entryProgram(), a.pid(), a.attachPath(), fp.entrySite(), cookie));
      }
      if (probe.returnProgram() != null && !fp.returnFileOffsets().isEmpty()) {
        if (o.usesUprobeMulti()) {
          long[] offsets = fp.returnFileOffsets().stream().mapToLong(Long::longValue).toArray();
          long[] cookies = new long[offsets.length];
          java.util.Arrays.fill(cookies, cookie);
          mine.add(o.attachUprobeMulti(probe.returnProgram(), a.pid(), a.attachPath(), offsets, cookies));
        } else {
          for (long ret : fp.returnFileOffsets()) {
            mine.add(o.attachUprobe(probe.returnProgram(), a.pid(), a.attachPath(), ret, cookie));
          }
        }
      }
      out.addAll(mine);
    } catch (RuntimeException e) {
      // Entry without all its returns would leak per-goroutine state: detach the whole function.
      mine.forEach(BpfLink::close);
      throw e;
    }
  }
}
