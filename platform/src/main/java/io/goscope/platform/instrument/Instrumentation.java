package io.goscope.platform.instrument;

import io.goscope.platform.sys.BpfObject;
import io.goscope.platform.sys.UprobeLink;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel objects one traced process holds: a loaded BPF object per probe set and its uprobe links. Closing it
 * detaches everything; idempotent.
 */
public final class Instrumentation implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Instrumentation.class);

  private final int pid;
  private final String attachPath;
  private final List<BpfObject> objects = new ArrayList<>();
  private final List<UprobeLink> links = new ArrayList<>();
  private final Map<String, Integer> uprobesBySet;
  private final List<String> failures;
  private boolean closed;

  Instrumentation(int pid, String attachPath, List<BpfObject> objects, List<UprobeLink> links,
      Map<String, Integer> uprobesBySet, List<String> failures) {
    this.pid = pid;
    this.attachPath = attachPath;
    this.objects.addAll(objects);
    this.links.addAll(links);
    this.uprobesBySet = Map.copyOf(uprobesBySet);
    this.failures = List.copyOf(failures);
  }

  /** Probe sets or probes that did not attach, each with its reason ("set: reason"). */
  public List<String> failures() {
    return failures;
  }

  public int pid() {
    return pid;
  }

  public String attachPath() {
    return attachPath;
  }

  /** Probe set id → number of uprobes attached. */
  public Map<String, Integer> uprobesBySet() {
    return uprobesBySet;
  }

  /**
   * Records this process's probes could not write because the shared ring buffer was full (the objects'
   * {@code goscope_dropped} per-CPU counters, summed). Reads the kernel; call it periodically, not per record.
   */
  public synchronized long ringBufferDrops() {
    long sum = 0;
    for (BpfObject o : objects) {
      try {
        sum += o.map("goscope_dropped").sumPerCpuU64(0);
      } catch (RuntimeException e) {
        log.debug("drop counter unreadable pid={} object={} reason={}", pid, o.name(), e.toString());
      }
    }
    return sum;
  }

  public synchronized int linkCount() {
    return links.size();
  }

  @Override
  public void close() {
    close(() -> { });
  }

  /**
   * Detaches everything, calling {@code beforeEachLink} before each uprobe is removed (each removal waits for a
   * kernel grace period; the agent uses this to let pending attaches go first).
   */
  public synchronized void close(Runnable beforeEachLink) {
    if (closed) {
      return;
    }
    closed = true;
    for (UprobeLink l : links) {
      beforeEachLink.run();
      try {
        l.close();
      } catch (RuntimeException e) {
        log.debug("detach failed pid={} reason={}", pid, e.toString());
      }
    }
    for (BpfObject o : objects) {
      try {
        o.close();
      } catch (RuntimeException e) {
        log.debug("object close failed pid={} reason={}", pid, e.toString());
      }
    }
    links.clear();
    objects.clear();
  }
}
