package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.GoscopeException;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.platform.sys.BpfException;
import io.goscope.platform.sys.BpfMap;
import io.goscope.platform.sys.BpfObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The maps the host owns and shares with every BPF object it loads (the {@code goscope_*} maps of the probe-set kit's
 * headers): the ring buffer, the per-source loss counters, the processes the rules selected, the binaries attached
 * for all their processes, and the trace context of every goroutine. Created once, sized by the agent's
 * configuration; every object gets the same maps before load, so loss counts survive detaches and all probe sets
 * share one trace context.
 */
public final class HostMaps implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HostMaps.class);
  private static final String OBJECT = "bpf/host_maps.bpf.o";

  public static final String LOST = "goscope_lost";
  public static final String UNMATCHED = "goscope_unmatched";
  public static final String PROCESSES = "goscope_processes";
  public static final String BINARIES = "goscope_binaries";
  public static final String GOROUTINES = "goscope_goroutines";
  public static final String INCOMING = "goscope_incoming";
  public static final String SOCK_MARKS = "goscope_sock_marks";
  public static final String SOCK_OUTCOMES = "goscope_sock_outcomes";

  /** struct gs_process flags (goscope_context.h). */
  static final int PROCESS_PROPAGATE = 0x1;
  static final int PROCESS_PROVISIONAL = 0x2;
  static final int PROCESS_DECLINED = 0x4;
  /** sizeof(struct gs_process). */
  static final int PROCESS_SIZE = 24;
  /** struct gs_binary flags. */
  static final int BINARY_SELECT_NEW = 0x1;

  /**
   * How many entries the shared maps hold.
   *
   * @param processes traced processes on the node
   * @param goroutines goroutines with an active span at once, over all traced processes
   * @param binaries binaries attached for all their processes
   */
  public record Sizes(int processes, int goroutines, int binaries) {
    public static final Sizes DEFAULT = new Sizes(8192, 16384, 1024);

    public Sizes {
      if (processes <= 0 || goroutines <= 0 || binaries <= 0) {
        throw new IllegalArgumentException("map sizes must be positive: " + processes + "/" + goroutines + "/"
            + binaries);
      }
    }
  }

  private final Map<String, BpfMap> maps;

  private HostMaps(Map<String, BpfMap> maps) {
    this.maps = maps;
  }

  /**
   * Creates the ring buffer and the other shared maps.
   *
   * @throws BpfException naming the map or object when the kernel refuses
   */
  public static HostMaps create(int ringBufferBytes, Sizes sizes) {
    requireNonNull(sizes, "sizes");
    Map<String, BpfMap> maps = new LinkedHashMap<>();
    BpfMap ring = BpfMap.createRingBuffer(ProbeSetDescriptor.RING_BUFFER_MAP, ringBufferBytes);
    maps.put(ProbeSetDescriptor.RING_BUFFER_MAP, ring);
    try (BpfObject object = BpfObject.open("host_maps", readObject())) {
      object.reuseMap(ProbeSetDescriptor.RING_BUFFER_MAP, ring);
      object.setMaxEntries(PROCESSES, sizes.processes());
      object.setMaxEntries(GOROUTINES, sizes.goroutines());
      object.setMaxEntries(INCOMING, Math.max(1024, sizes.goroutines() / 8));
      object.setMaxEntries(BINARIES, sizes.binaries());
      object.load();
      for (String name : object.mapNames()) {
        if (!maps.containsKey(name)) {
          maps.put(name, BpfMap.adopt(object.map(name)));
        }
      }
    } catch (RuntimeException e) {
      maps.values().forEach(BpfMap::close);
      throw e;
    }
    log.debug("host maps created maps={} sizes={}", maps.keySet(), sizes);
    return new HostMaps(maps);
  }

  private static byte[] readObject() {
    try (InputStream in = HostMaps.class.getClassLoader().getResourceAsStream(OBJECT)) {
      if (in == null) {
        throw new GoscopeException("host maps: resource " + OBJECT + " missing from the platform jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new GoscopeException("host maps: read " + OBJECT + ": " + e.getMessage(), e);
    }
  }

  /** One of the host maps by name (tests, and the host's own programs), or null. */
  public BpfMap map(String name) {
    return maps.get(name);
  }

  /** The shared ring buffer. */
  public BpfMap ringBuffer() {
    return maps.get(ProbeSetDescriptor.RING_BUFFER_MAP);
  }

  /**
   * Hands every host map an object declares to it (before load).
   *
   * @throws GoscopeException naming the map when the object declares a {@code goscope_} map this host does not own
   *     (an object built against another version of the probe-set kit)
   */
  public void reuseInto(BpfObject object) {
    for (String name : object.mapNames()) {
      if (!name.startsWith(ProbeSetDescriptor.SHARED_MAP_PREFIX)) {
        continue;
      }
      BpfMap map = maps.get(name);
      if (map == null) {
        throw new GoscopeException("object " + object.name() + " declares host map " + name
            + ", which this host does not provide (built against another version of the probe-set kit?); host maps: "
            + maps.keySet());
      }
      object.reuseMap(name, map);
    }
  }

  /**
   * What the host decided about a process, as the probes read it ({@code struct gs_process}).
   *
   * @param sampling ratio of new traces kept, 0..1
   * @param propagate whether outgoing requests carry trace context
   * @param sources bit n set: the probe set with source id n records for the process
   */
  public record ProcessSettings(double sampling, boolean propagate, long sources) {
    public static final ProcessSettings DEFAULT = new ProcessSettings(1.0, false, -1L);

    public ProcessSettings {
      if (!(sampling >= 0 && sampling <= 1)) {
        throw new IllegalArgumentException("sampling must be within 0..1: " + sampling);
      }
    }

    /** A random u32 below this keeps a new trace: {@code sampling * 2^32}, 2^32 for "always". */
    long sampleThreshold() {
      return sampling >= 1 ? 1L << 32 : (long) Math.floor(sampling * (1L << 32));
    }

    byte[] bytes(int extraFlags) {
      ByteBuffer b = ByteBuffer.allocate(PROCESS_SIZE).order(ByteOrder.LITTLE_ENDIAN);
      b.putLong(sampleThreshold());
      b.putLong(sources);
      b.putInt((propagate ? PROCESS_PROPAGATE : 0) | extraFlags);
      b.putInt(0);
      return b.array();
    }
  }

  private static byte[] u32(int v) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
  }

  /** Selects a process: its probes start recording. */
  public void putProcess(int pid, ProcessSettings settings) {
    maps.get(PROCESSES).update(u32(pid), settings.bytes(0));
  }

  /** Marks a process as decided against: probes of an instrumented binary it runs stay silent. */
  public void declineProcess(int pid) {
    maps.get(PROCESSES).update(u32(pid), ProcessSettings.DEFAULT.bytes(PROCESS_DECLINED));
  }

  /** Forgets a process (it exited, or it is no longer selected and runs no instrumented binary). */
  public void removeProcess(int pid) {
    maps.get(PROCESSES).delete(u32(pid));
  }

  /**
   * Publishes an attached binary: with {@code selectNew}, a process of it that the host has not seen yet is traced
   * from its first probe hit with {@code settings}, and announced with a {@code GS_HOST_PROCESS_SEEN} record.
   */
  public void putBinary(int binaryId, ProcessSettings settings, boolean selectNew) {
    ByteBuffer b = ByteBuffer.allocate(PROCESS_SIZE + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.put(settings.bytes(0));
    b.putInt(selectNew ? BINARY_SELECT_NEW : 0);
    b.putInt(0);
    maps.get(BINARIES).update(u32(binaryId), b.array());
  }

  public void removeBinary(int binaryId) {
    maps.get(BINARIES).delete(u32(binaryId));
  }

  /** Records the probes of probe set {@code source} could not write because the ring buffer was full. */
  public long lostRecords(int source) {
    return maps.get(LOST).sumPerCpuU64(source);
  }

  /** Records lost for a full ring buffer, over every source (the per-source counters go up to 255). */
  public long lostRecords() {
    long sum = 0;
    BpfMap lost = maps.get(LOST);
    for (int source = 0; source < Math.min(lost.maxEntries(), 256); source++) {
      sum += lost.sumPerCpuU64(source);
    }
    return sum;
  }

  /**
   * Returns that found no call in flight for probe set {@code source} (goscope_context.h, gs_count_unmatched): calls
   * already running when their process was selected, or in-flight entries evicted from a full map.
   */
  public long unmatchedReturns(int source) {
    return maps.get(UNMATCHED).sumPerCpuU64(source);
  }

  /** The kernel memory the host maps take ({@code memlock} of each), in bytes. */
  public long kernelMemoryBytes() {
    long sum = 0;
    for (BpfMap m : maps.values()) {
      long b = m.kernelMemoryBytes();
      if (b > 0) {
        sum += b;
      }
    }
    return sum;
  }

  @Override
  public void close() {
    maps.values().forEach(BpfMap::close);
  }
}
