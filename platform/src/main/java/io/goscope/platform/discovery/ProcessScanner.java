package io.goscope.platform.discovery;

import static java.util.Objects.requireNonNull;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Lists the processes under a proc root and diffs each listing against the previous one, for the agent's polling
 * loop (every couple of seconds) and its periodic reconcile.
 *
 * <p>A process is identified by pid and start time, so a pid reused between two scans is reported as exited and
 * started in the same {@link Delta}. The first scan reports every process as started. Not thread-safe on its own;
 * {@link #scan()} is synchronized so one scanner may be shared by the poll and reconcile threads.
 */
public final class ProcessScanner {
  private final ProcFs procFs;
  private Map<Integer, Long> known = Map.of();

  public ProcessScanner(ProcFs procFs) {
    this.procFs = requireNonNull(procFs, "procFs");
  }

  /** The processes that appeared and disappeared since the previous scan. */
  public record Delta(Set<Integer> started, Set<Integer> exited) {
    public Delta {
      started = Set.copyOf(started);
      exited = Set.copyOf(exited);
    }

    /** True when nothing changed. */
    public boolean isEmpty() {
      return started.isEmpty() && exited.isEmpty();
    }
  }

  /** A full scan: {@code scan(true)}. */
  public Delta scan() {
    return scan(true);
  }

  /**
   * Scans the proc root and returns the difference to the previous scan.
   *
   * @param verifyKnown whether to re-read the start time of processes already known, which is what tells a pid
   *     reused since the previous scan from the same process. A scan without it reads only the directory listing
   *     and the start time of new pids: on a node with thousands of processes that is a fraction of the cost (see
   *     {@code BENCHMARKS.md}), so the frequent poll skips it and every n-th poll verifies
   */
  public synchronized Delta scan(boolean verifyKnown) {
    Map<Integer, Long> current = new HashMap<>();
    for (int pid : procFs.listPids()) {
      Long before = known.get(pid);
      if (before != null && !verifyKnown) {
        current.put(pid, before);
        continue;
      }
      Optional<Long> start;
      try {
        start = procFs.startTime(pid);
      } catch (ProcFsException e) {
        start = Optional.of(-1L); // unreadable stat: still a process, identity by pid only
      }
      start.ifPresent(s -> current.put(pid, s));
    }
    Set<Integer> started = new TreeSet<>();
    Set<Integer> exited = new TreeSet<>();
    for (Map.Entry<Integer, Long> e : current.entrySet()) {
      Long before = known.get(e.getKey());
      if (before == null) {
        started.add(e.getKey());
      } else if (!before.equals(e.getValue())) {
        exited.add(e.getKey());
        started.add(e.getKey());
      }
    }
    for (Integer pid : known.keySet()) {
      if (!current.containsKey(pid)) {
        exited.add(pid);
      }
    }
    known = current;
    return new Delta(started, exited);
  }

  /** The pids seen by the last scan. */
  public synchronized Set<Integer> known() {
    return Set.copyOf(known.keySet());
  }
}
