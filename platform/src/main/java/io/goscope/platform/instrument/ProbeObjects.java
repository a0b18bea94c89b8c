package io.goscope.platform.instrument;

import static java.util.Objects.requireNonNull;

import io.goscope.api.FunctionProbe;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.platform.sys.BpfMap;
import io.goscope.platform.sys.BpfObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads each probe set's BPF object once per distinct set of constants (its struct offsets differ between Go
 * releases and library versions, nothing else does), and hands the loaded object to every binary that needs it:
 * one verifier run and one set of programs however many processes run those binaries. All objects get the host's
 * maps; all objects of one probe set share that set's own maps (its per-call state is keyed by process and
 * goroutine), created with the set's first object and kept while the set has objects. Reference-counted; closed
 * with the last reference. Thread-safe.
 */
public final class ProbeObjects implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProbeObjects.class);

  /** How long an object nothing references stays loaded, so that a restart or churn does not run the verifier. */
  public static final long DEFAULT_KEEP_NANOS = 120_000_000_000L;

  private final HostMaps hostMaps;
  private final Set<String> unavailableFeatures;
  private final long keepNanos;
  private final java.util.function.LongSupplier clock;
  private final Map<Key, Loaded> loaded = new HashMap<>();
  private final Map<String, SetMaps> setMaps = new HashMap<>();
  private long loads;

  private record Key(String setId, Map<String, Long> constants) {}

  /** The maps one probe set's objects share, and how many loaded objects use them. */
  private static final class SetMaps {
    final Map<String, BpfMap> maps = new LinkedHashMap<>();
    int objects;
  }

  /** A loaded object and its references. */
  public final class Loaded {
    private final Key key;
    private final ProbeSetRuntime runtime;
    private final BpfObject object;
    private final Set<String> disabledPrograms;
    private int references;
    /** When the last reference went (clock nanos), while unreferenced; 0 otherwise. */
    private long idleSince;

    private Loaded(Key key, ProbeSetRuntime runtime, BpfObject object, Set<String> disabledPrograms) {
      this.key = key;
      this.runtime = runtime;
      this.object = object;
      this.disabledPrograms = disabledPrograms;
    }

    public BpfObject object() {
      return object;
    }

    public ProbeSetRuntime runtime() {
      return runtime;
    }

    /** Whether the program was loaded (not switched off for a feature this host lacks). */
    public boolean hasProgram(String program) {
      return !disabledPrograms.contains(program);
    }

    /** Gives this reference back; the object is closed with its last one. */
    public void release() {
      ProbeObjects.this.release(this);
    }
  }

  /**
   * @param unavailableFeatures features (e.g. {@link FunctionProbe#PROPAGATION}) whose programs this host's kernel
   *     refuses; they are not loaded
   */
  public ProbeObjects(HostMaps hostMaps, Set<String> unavailableFeatures) {
    this(hostMaps, unavailableFeatures, DEFAULT_KEEP_NANOS, System::nanoTime);
  }

  /**
   * @param keepNanos how long an object stays loaded after its last reference went (0: closed at once)
   */
  public ProbeObjects(HostMaps hostMaps, Set<String> unavailableFeatures, long keepNanos,
      java.util.function.LongSupplier clock) {
    this.hostMaps = requireNonNull(hostMaps, "hostMaps");
    this.unavailableFeatures = Set.copyOf(unavailableFeatures);
    this.keepNanos = keepNanos;
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * The loaded object of {@code runtime} for {@code constants} (the plan's resolved constants), loading it on first
   * use; every call takes a reference, given back with {@link Loaded#release()}.
   *
   * @throws io.goscope.platform.sys.BpfException naming the object when the kernel refuses it (the verifier log's
   *     tail included)
   */
  public synchronized Loaded acquire(ProbeSetRuntime runtime, Map<String, Long> constants) {
    Map<String, Long> applicable = new TreeMap<>();
    constants.forEach((name, value) -> {
      if (runtime.hasConstant(name)) {
        applicable.put(name, value);
      }
    });
    Key key = new Key(runtime.id(), Map.copyOf(applicable));
    evictIdle();
    Loaded l = loaded.get(key);
    if (l == null) {
      l = load(key, runtime, applicable);
      loaded.put(key, l);
    }
    l.references++;
    l.idleSince = 0;
    return l;
  }

  /** Closes objects that nothing referenced for longer than the keep time. */
  public synchronized void evictIdle() {
    long now = clock.getAsLong();
    for (Loaded l : List.copyOf(loaded.values())) {
      if (l.references == 0 && l.idleSince != 0 && now - l.idleSince >= keepNanos) {
        unload(l);
      }
    }
  }

  private Loaded load(Key key, ProbeSetRuntime runtime, Map<String, Long> constants) {
    ProbeSetDescriptor d = runtime.descriptor();
    BpfObject object = BpfObject.open(d.id() + "_" + (++loads), runtime.bpfObject());
    SetMaps shared = setMaps.computeIfAbsent(d.id(), id -> new SetMaps());
    try {
      object.setConstant(ProbeSetDescriptor.SOURCE_CONSTANT, runtime.sourceId());
      for (Map.Entry<String, Long> c : d.constants().entrySet()) {
        object.setConstant(c.getKey(), c.getValue());
      }
      for (Map.Entry<String, Long> c : constants.entrySet()) {
        object.setConstant(c.getKey(), c.getValue());
      }
      Set<String> disabled = disabledPrograms(d);
      for (String program : disabled) {
        object.setAutoload(program, false);
      }
      hostMaps.reuseInto(object);
      for (Map.Entry<String, BpfMap> m : shared.maps.entrySet()) {
        object.reuseMap(m.getKey(), m.getValue());
      }
      object.load();
      if (shared.maps.isEmpty()) {
        for (String name : object.mapNames()) {
          if (!name.startsWith(ProbeSetDescriptor.SHARED_MAP_PREFIX)) {
            shared.maps.put(name, BpfMap.adopt(object.map(name)));
          }
        }
      }
      shared.objects++;
      log.info("BPF object loaded set={} object={} constants={} disabledPrograms={}", d.id(), object.name(),
          constants.size(), disabled);
      return new Loaded(key, runtime, object, disabled);
    } catch (RuntimeException e) {
      object.close();
      if (shared.objects == 0) {
        shared.maps.values().forEach(BpfMap::close);
        setMaps.remove(d.id());
      }
      throw e;
    }
  }

  /** Programs only used by probes of features this host cannot run. */
  private Set<String> disabledPrograms(ProbeSetDescriptor d) {
    Set<String> off = new HashSet<>();
    Set<String> on = new HashSet<>();
    for (FunctionProbe p : d.probes()) {
      Set<String> target = p.feature() != null && unavailableFeatures.contains(p.feature()) ? off : on;
      if (p.entryProgram() != null) {
        target.add(p.entryProgram());
      }
      if (p.returnProgram() != null) {
        target.add(p.returnProgram());
      }
    }
    off.removeAll(on);
    return off;
  }

  private synchronized void release(Loaded l) {
    if (--l.references > 0) {
      return;
    }
    if (keepNanos > 0) {
      l.idleSince = Math.max(1, clock.getAsLong());
      return; // kept for the next binary that needs it; evictIdle closes it later
    }
    unload(l);
  }

  private void unload(Loaded l) {
    loaded.remove(l.key);
    l.object.close();
    SetMaps shared = setMaps.get(l.key.setId());
    if (shared != null && --shared.objects <= 0) {
      shared.maps.values().forEach(BpfMap::close);
      setMaps.remove(l.key.setId());
    }
    log.info("BPF object unloaded set={} object={}", l.runtime.id(), l.object.name());
  }

  /** Objects loaded now and referenced by an attachment (objects kept idle for reuse are not counted). */
  public synchronized int inUseCount() {
    return (int) loaded.values().stream().filter(l -> l.references > 0).count();
  }

  /** Objects loaded now. */
  public synchronized int loadedCount() {
    return loaded.size();
  }

  /** Objects loaded since the start (a measure of verifier runs). */
  public synchronized long loadsTotal() {
    return loads;
  }

  /** Kernel memory of the probe sets' own maps (the host maps not included), in bytes. */
  public synchronized long kernelMemoryBytes() {
    long sum = 0;
    for (SetMaps s : setMaps.values()) {
      for (BpfMap m : s.maps.values()) {
        sum += Math.max(0, m.kernelMemoryBytes());
      }
    }
    return sum;
  }

  /** Ids of the probe sets with loaded objects, and how many objects each has. */
  public synchronized Map<String, Integer> objectsBySet() {
    Map<String, Integer> out = new TreeMap<>();
    for (Key k : loaded.keySet()) {
      out.merge(k.setId(), 1, Integer::sum);
    }
    return out;
  }

  @Override
  public synchronized void close() {
    for (Loaded l : new ArrayList<>(loaded.values())) {
      unload(l);
    }
  }
}
