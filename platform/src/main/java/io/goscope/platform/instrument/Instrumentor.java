package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FailureMode;
import io.goscope.api.FunctionProbe;
import io.goscope.api.GoscopeException;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.platform.sys.BpfMap;
import io.goscope.platform.sys.BpfObject;
import io.goscope.platform.sys.UprobeLink;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes probe plans against one process: loads each probe set's BPF object with its offsets and source id,
 * points it at the shared ring buffer, and attaches a uprobe at each function entry and at every return
 * instruction (never a uretprobe). A set that fails to load or attach is closed and skipped with its reason; the
 * other sets of the process still attach.
 */
public final class Instrumentor {
  private static final Logger log = LoggerFactory.getLogger(Instrumentor.class);

  private final BpfMap ringBuffer;

  public Instrumentor(BpfMap ringBuffer) {
    this.ringBuffer = requireNonNull(ringBuffer, "ringBuffer");
  }

  /**
   * Attaches the planned probe sets to {@code pid}.
   *
   * @param attachPath a path to the process's executable (same inode as /proc/pid/exe)
   * @param plans probe set runtime → its plan for this binary; unattachable plans are skipped
   * @throws GoscopeException when no probe set could be attached (the message carries every reason)
   */
  public Instrumentation attach(int pid, String attachPath, Map<ProbeSetRuntime, ProbePlan> plans) {
    List<BpfObject> objects = new ArrayList<>();
    List<UprobeLink> links = new ArrayList<>();
    Map<String, Integer> counts = new LinkedHashMap<>();
    List<String> failures = new ArrayList<>();
    for (Map.Entry<ProbeSetRuntime, ProbePlan> e : plans.entrySet()) {
      ProbeSetRuntime runtime = e.getKey();
      ProbePlan plan = e.getValue();
      if (!plan.attachable()) {
        failures.add(runtime.id() + ": " + plan.failure());
        continue;
      }
      BpfObject object = null;
      List<UprobeLink> setLinks = new ArrayList<>();
      try {
        object = load(runtime, plan, pid);
        for (FunctionPlan fp : plan.functions()) {
          if (!fp.willAttach()) {
            continue;
          }
          try {
            attachFunction(object, fp, pid, attachPath, setLinks);
          } catch (RuntimeException ex) {
            if (fp.probe().failureMode() == FailureMode.ERROR) {
              throw ex;
            }
            failures.add(runtime.id() + " " + fp.probe().symbol() + ": " + ex.getMessage());
            log.debug("probe not attached pid={} set={} symbol={} reason={}", pid, runtime.id(),
                fp.probe().symbol(), ex.getMessage());
          }
        }
        if (setLinks.isEmpty()) {
          throw new GoscopeException("no uprobe of set " + runtime.id() + " attached");
        }
        objects.add(object);
        links.addAll(setLinks);
        counts.put(runtime.id(), setLinks.size());
        log.debug("probe set attached pid={} set={} uprobes={} path={}", pid, runtime.id(), setLinks.size(),
            attachPath);
      } catch (RuntimeException ex) {
        setLinks.forEach(UprobeLink::close);
        if (object != null) {
          object.close();
        }
        failures.add(runtime.id() + ": " + ex.getMessage());
        log.debug("probe set not attached pid={} set={} reason={}", pid, runtime.id(), ex.getMessage());
      }
    }
    if (links.isEmpty()) {
      throw new GoscopeException("instrument pid=" + pid + " path=" + attachPath + ": nothing attached ("
          + String.join("; ", failures) + ")");
    }
    return new Instrumentation(pid, attachPath, objects, links, counts, failures);
  }

  private BpfObject load(ProbeSetRuntime runtime, ProbePlan plan, int pid) {
    ProbeSetDescriptor d = runtime.descriptor();
    BpfObject object = BpfObject.open(d.id() + "_" + pid, runtime.bpfObject());
    try {
      object.setConstant(ProbeSetDescriptor.SOURCE_CONSTANT, runtime.sourceId());
      for (Map.Entry<String, Long> c : d.constants().entrySet()) {
        object.setConstant(c.getKey(), c.getValue());
      }
      for (Map.Entry<String, Long> c : plan.constants().entrySet()) {
        if (object.hasConstant(c.getKey())) {
          object.setConstant(c.getKey(), c.getValue());
        }
      }
      object.reuseMap(ProbeSetDescriptor.RING_BUFFER_MAP, ringBuffer);
      object.load();
      return object;
    } catch (RuntimeException e) {
      object.close();
      throw e;
    }
  }

  private static void attachFunction(
      BpfObject object, FunctionPlan fp, int pid, String path, List<UprobeLink> out) {
    FunctionProbe probe = fp.probe();
    List<UprobeLink> mine = new ArrayList<>();
    try {
      if (probe.entryProgram() != null) {
        mine.add(object.attachUprobe(probe.entryProgram(), pid, path, fp.entryFileOffset(), 0));
      }
      if (probe.returnProgram() != null) {
        for (long ret : fp.returnFileOffsets()) {
          mine.add(object.attachUprobe(probe.returnProgram(), pid, path, ret, 0));
        }
      }
      out.addAll(mine);
    } catch (RuntimeException e) {
      // Entry without all its returns would leak per-goroutine state: detach the whole function.
      mine.forEach(UprobeLink::close);
      throw e;
    }
  }
}
