package io.goscope.platform.instrument;

import io.goscope.platform.sys.UprobeLink;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The uprobes on one binary: for every process that runs it ({@code pid} -1, the kernel's uprobe on the file's inode)
 * or for one process. Holds a reference to each loaded object its links use. Closing it detaches everything and gives
 * the objects back; idempotent.
 */
public final class BinaryAttachment implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BinaryAttachment.class);

  private final int binaryId;
  private final int pid;
  private final String attachPath;
  private final List<ProbeObjects.Loaded> objects = new ArrayList<>();
  private final List<UprobeLink> links = new ArrayList<>();
  private final Map<String, Integer> uprobesBySet = new LinkedHashMap<>();
  private final List<String> failures = new ArrayList<>();
  private final Set<String> features = new LinkedHashSet<>();
  private final Map<ProbeSetRuntime, ProbePlan> plans;
  private boolean closed;

  BinaryAttachment(int binaryId, int pid, String attachPath, Map<ProbeSetRuntime, ProbePlan> plans) {
    this.binaryId = binaryId;
    this.pid = pid;
    this.attachPath = attachPath;
    this.plans = Map.copyOf(plans);
  }

  synchronized void add(ProbeObjects.Loaded object, List<UprobeLink> setLinks) {
    if (!objects.contains(object)) {
      objects.add(object);
    } else {
      object.release(); // one reference per attachment is enough
    }
    links.addAll(setLinks);
    uprobesBySet.merge(object.runtime().id(), setLinks.size(), Integer::sum);
  }

  synchronized void fail(String failure) {
    failures.add(failure);
  }

  synchronized void enabled(String feature) {
    features.add(feature);
  }

  /** The id the host gave the binary (the high 32 bits of every uprobe's cookie). */
  public int binaryId() {
    return binaryId;
  }

  /** The process the uprobes are limited to, or -1 when they fire for every process of the binary. */
  public int pid() {
    return pid;
  }

  public String attachPath() {
    return attachPath;
  }

  /** The plans the attachment was made from. */
  public Map<ProbeSetRuntime, ProbePlan> plans() {
    return plans;
  }

  /** Probe sets or probes that did not attach, each with its reason ("set: reason"). */
  public synchronized List<String> failures() {
    return List.copyOf(failures);
  }

  /** Probe set id → number of uprobes attached. */
  public synchronized Map<String, Integer> uprobesBySet() {
    return Map.copyOf(uprobesBySet);
  }

  /** Optional features whose probes are attached. */
  public synchronized Set<String> features() {
    return Set.copyOf(features);
  }

  public synchronized int linkCount() {
    return links.size();
  }

  public synchronized boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    close(() -> { });
  }

  /** Threads that remove uprobes, shared by every attachment (daemon: never keeps the JVM alive). */
  private static final java.util.concurrent.ExecutorService REMOVERS = java.util.concurrent.Executors
      .newFixedThreadPool(16, r -> {
        Thread t = new Thread(r, "goscope-uprobe-removal");
        t.setDaemon(true);
        return t;
      });

  /**
   * Detaches everything, calling {@code beforeEachLink} before each uprobe is removed (each removal waits for a
   * kernel grace period; the agent uses this to let pending attaches go first).
   */
  public synchronized void close(Runnable beforeEachLink) {
    if (closed) {
      return;
    }
    closed = true;
    // Each removal waits for a kernel grace period (~0.1 s on the reference VM) and the waits overlap when the
    // removals run side by side: 22 uprobes take ~0.3 s instead of ~3 s.
    List<java.util.concurrent.Future<?>> pending = new ArrayList<>(links.size());
    for (UprobeLink l : links) {
      beforeEachLink.run();
      pending.add(REMOVERS.submit(() -> {
        try {
          l.close();
        } catch (RuntimeException e) {
          log.debug("detach failed binary={} path={} reason={}", binaryId, attachPath, e.toString());
        }
      }));
    }
    for (java.util.concurrent.Future<?> f : pending) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (java.util.concurrent.ExecutionException e) {
        log.debug("detach failed binary={} reason={}", binaryId, e.getCause().toString());
      }
    }
    for (ProbeObjects.Loaded o : objects) {
      try {
        o.release();
      } catch (RuntimeException e) {
        log.debug("object release failed binary={} reason={}", binaryId, e.toString());
      }
    }
    links.clear();
    objects.clear();
  }

  @Override
  public String toString() {
    return "BinaryAttachment{" + binaryId + " " + attachPath + (pid >= 0 ? " pid=" + pid : "") + " " + uprobesBySet
        + "}";
  }
}
