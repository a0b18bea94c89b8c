package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.GoscopeException;
import io.goscope.api.Nullable;
import io.goscope.platform.sys.BpfLink;
import io.goscope.platform.sys.BpfMap;
import io.goscope.platform.sys.BpfObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's socket programs of socket-level propagation ({@code sock_propagation.bpf.c}, the kit's
 * {@code goscope_sockmsg.h}): loaded and attached on first use, so a node where no rule enables propagation runs
 * nothing on its sockets. sock_ops goes onto the cgroup v2 root through a bpf_link (other programs there stay), the
 * sk_msg verdict onto the object's socket hash. Both go away with the agent, even when it is killed: nothing stays
 * attached to the node or to the applications' sockets.
 */
public final class SocketPropagation implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SocketPropagation.class);
  static final String OBJECT = "bpf/sock_propagation.bpf.o";
  static final String SOCK_OPS = "gs_sock_ops";
  static final String SK_MSG = "gs_sock_msg";
  static final String SOCKETS = "gs_sockets";
  static final String STATS = "gs_sock_stats";

  /** Counters of the socket programs, summed over CPUs. */
  public record Stats(long watched, long watchFailed, long inserted, long mismatched, long expired, long failed,
      long skipped, long unsure) {
    public static final Stats NONE = new Stats(0, 0, 0, 0, 0, 0, 0, 0);
  }

  private final HostMaps hostMaps;
  private final Path cgroupRoot;
  @Nullable private BpfObject object;
  private final List<BpfLink> links = new ArrayList<>();
  @Nullable private String failure;

  /**
   * @param cgroupRoot the root of the node's cgroup v2 hierarchy (every pod's sockets are below it)
   */
  public SocketPropagation(HostMaps hostMaps, Path cgroupRoot) {
    this.hostMaps = requireNonNull(hostMaps, "hostMaps");
    this.cgroupRoot = requireNonNull(cgroupRoot, "cgroupRoot");
  }

  /**
   * Loads and attaches the socket programs unless done already.
   *
   * @return why they cannot run (then every later call says the same), or empty once attached
   */
  public synchronized Optional<String> start() {
    if (object != null) {
      return Optional.empty();
    }
    if (failure != null) {
      return Optional.of(failure);
    }
    BpfObject o = BpfObject.open("sock_propagation", readObject());
    try {
      hostMaps.reuseInto(o);
      o.load();
      links.add(o.attachToMap(SK_MSG, SOCKETS));
      links.add(o.attachCgroup(SOCK_OPS, cgroupRoot));
      object = o;
      log.info("socket propagation attached cgroup={} programs={}", cgroupRoot, List.of(SOCK_OPS, SK_MSG));
      return Optional.empty();
    } catch (RuntimeException e) {
      closeLinks();
      o.close();
      failure = "socket programs: " + e.getMessage();
      log.warn("socket propagation unavailable cgroup={} reason=\"{}\"", cgroupRoot, failure);
      return Optional.of(failure);
    }
  }

  /** Whether the socket programs are attached. */
  public synchronized boolean started() {
    return object != null;
  }

  /** The cgroup the sock_ops program attaches to. */
  public Path cgroupRoot() {
    return cgroupRoot;
  }

  /** The counters of the socket programs (all zero before {@link #start()}). */
  public synchronized Stats stats() {
    if (object == null) {
      return Stats.NONE;
    }
    BpfMap m = object.map(STATS);
    return new Stats(m.sumPerCpuU64(0), m.sumPerCpuU64(1), m.sumPerCpuU64(2), m.sumPerCpuU64(3), m.sumPerCpuU64(4),
        m.sumPerCpuU64(5), m.sumPerCpuU64(6), m.sumPerCpuU64(7));
  }

  private void closeLinks() {
    for (int i = links.size() - 1; i >= 0; i--) {
      links.get(i).close();
    }
    links.clear();
  }

  /** Detaches the programs (sockets leave the socket hash as it goes) and closes the object. Idempotent. */
  @Override
  public synchronized void close() {
    closeLinks();
    if (object != null) {
      try {
        int n = object.map(SOCKETS).clear(); // now, not when the kernel frees the map after an RCU grace period
        log.debug("socket propagation released connections={}", n);
      } catch (RuntimeException e) {
        log.warn("socket propagation: connections not released at once reason=\"{}\"", e.getMessage());
      }
      object.close();
      object = null;
      log.debug("socket propagation detached cgroup={}", cgroupRoot);
    }
  }

  private static byte[] readObject() {
    try (InputStream in = SocketPropagation.class.getClassLoader().getResourceAsStream(OBJECT)) {
      if (in == null) {
        throw new GoscopeException("socket propagation: resource " + OBJECT + " missing from the platform jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new GoscopeException("socket propagation: read " + OBJECT + ": " + e.getMessage(), e);
    }
  }
}
