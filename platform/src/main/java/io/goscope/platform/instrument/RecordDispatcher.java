package io.goscope.platform.instrument;

import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes each ring-buffer record to the decoder of the probe set that wrote it (by the header's source id) and to
 * the telemetry sink of the process it came from (by pid). Runs on the ring-buffer reader thread: no blocking, no
 * per-record logging; problems are counted.
 *
 * <p>A process the kernel selected on its own (its binary was published, goscope_context.h) is announced by a host
 * record before its first span record; its records are held, bounded, until the host decides about it
 * ({@link #register} replays them, {@link #discardHeld} counts them as declined).
 */
public final class RecordDispatcher {
  private static final Logger log = LoggerFactory.getLogger(RecordDispatcher.class);
  /** Held records per process, and processes with held records at once. */
  static final int MAX_HELD_RECORDS = 1024;
  static final int MAX_HELD_PROCESSES = 256;

  private final ProbeSetRuntime[] bySource;
  private final LongAdder[] decodedBySource;
  private final Map<Integer, TelemetrySink> sinks = new ConcurrentHashMap<>();
  private final Map<Integer, HostRecordHandler> hostHandlers = new ConcurrentHashMap<>();
  private final Map<Integer, ArrayDeque<byte[]>> held = new ConcurrentHashMap<>();
  private final LongAdder dispatched = new LongAdder();
  private final LongAdder unknownSource = new LongAdder();
  private final LongAdder unknownProcess = new LongAdder();
  private final LongAdder malformed = new LongAdder();
  private final LongAdder heldDropped = new LongAdder();
  private final LongAdder heldDeclined = new LongAdder();
  private volatile boolean loggedMalformed;

  /** Receives the records the host's own programs write (source id 0) of one type. */
  @FunctionalInterface
  public interface HostRecordHandler {
    void onRecord(ByteBuffer record, RecordHeader header);
  }

  public RecordDispatcher(List<ProbeSetRuntime> runtimes) {
    int max = runtimes.stream().mapToInt(ProbeSetRuntime::sourceId).max().orElse(0);
    bySource = new ProbeSetRuntime[max + 1];
    decodedBySource = new LongAdder[max + 1];
    for (ProbeSetRuntime r : runtimes) {
      bySource[r.sourceId()] = r;
      decodedBySource[r.sourceId()] = new LongAdder();
    }
  }

  /** Sets (or, with null, removes) the handler of source-0 records of {@code type}. */
  public void setHostHandler(int type, HostRecordHandler handler) {
    if (handler == null) {
      hostHandlers.remove(type);
    } else {
      hostHandlers.put(type, handler);
    }
  }

  /** Routes records of {@code pid} to {@code sink}, first the records held for it, in order. */
  public void register(int pid, TelemetrySink sink) {
    ArrayDeque<byte[]> pending = held.get(pid);
    if (pending == null) {
      sinks.put(pid, sink);
      return;
    }
    // The reader thread adds to the queue under its lock and re-checks the sink there: no record slips between.
    synchronized (pending) {
      for (byte[] r : pending) {
        ByteBuffer b = ByteBuffer.wrap(r).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        decode(b, RecordHeader.peek(b), sink);
      }
      pending.clear();
      sinks.put(pid, sink);
      held.remove(pid);
    }
  }

  /** Stops routing records of {@code pid}; records that still arrive are counted as unknown-process. */
  public void unregister(int pid) {
    sinks.remove(pid);
  }

  /**
   * Holds the records of {@code pid} until {@link #register} or {@link #discardHeld} (a process the kernel selected
   * before the host decided). Called on the reader thread.
   */
  public void hold(int pid) {
    if (sinks.containsKey(pid) || held.size() >= MAX_HELD_PROCESSES) {
      return;
    }
    held.putIfAbsent(pid, new ArrayDeque<>());
  }

  /** The host decided against a held process: its records are dropped (counted as declined). */
  public void discardHeld(int pid) {
    ArrayDeque<byte[]> pending = held.remove(pid);
    if (pending != null) {
      synchronized (pending) {
        heldDeclined.add(pending.size());
        pending.clear();
      }
    }
  }

  /** Handles one record (little-endian, positioned at its start). */
  public void onRecord(ByteBuffer record) {
    RecordHeader header;
    try {
      header = RecordHeader.peek(record);
    } catch (RecordFormatException e) {
      malformed.increment();
      return;
    }
    if (header.source() == 0) {
      HostRecordHandler h = hostHandlers.get(header.type());
      if (h != null) {
        h.onRecord(record, header);
      } else {
        unknownSource.increment();
      }
      return;
    }
    TelemetrySink sink = sinks.get(header.pid());
    if (sink == null) {
      ArrayDeque<byte[]> pending = held.get(header.pid());
      if (pending == null) {
        unknownProcess.increment();
        return;
      }
      synchronized (pending) {
        sink = sinks.get(header.pid());
        if (sink == null) {
          if (pending.size() < MAX_HELD_RECORDS) {
            byte[] copy = new byte[record.remaining()];
            record.get(record.position(), copy);
            pending.add(copy);
          } else {
            heldDropped.increment();
          }
          return;
        }
      }
    }
    decode(record, header, sink);
  }

  private void decode(ByteBuffer record, RecordHeader header, TelemetrySink sink) {
    ProbeSetRuntime runtime = header.source() < bySource.length ? bySource[header.source()] : null;
    if (runtime == null) {
      unknownSource.increment();
      return;
    }
    try {
      runtime.decoder().decode(record, header, sink);
      dispatched.increment();
      decodedBySource[header.source()].increment();
    } catch (RuntimeException e) {
      malformed.increment();
      if (!loggedMalformed) {
        loggedMalformed = true;
        log.warn("record not decodable set={} pid={} type={} reason={} (further ones are only counted)",
            runtime.id(), header.pid(), header.type(), e.toString());
      }
    }
  }

  /**
   * Records decoded, by probe set id: monotonic totals over the agent's life, whatever attached or detached
   * since. Every probe set is present.
   */
  public Map<String, Long> decodedByProbeSet() {
    Map<String, Long> m = new TreeMap<>();
    for (ProbeSetRuntime r : bySource) {
      if (r != null) {
        m.merge(r.id(), decodedBySource[r.sourceId()].sum(), Long::sum);
      }
    }
    return m;
  }

  /**
   * Records lost on the host side, by reason: {@code malformed} (no valid header, or the decoder threw),
   * {@code unknown_process} (its process already detached or gone), {@code unknown_source} (no such probe set).
   */
  public Map<String, Long> lostByReason() {
    Map<String, Long> m = new TreeMap<>();
    m.put("malformed", malformed.sum());
    m.put("unknown_process", unknownProcess.sum());
    m.put("unknown_source", unknownSource.sum());
    return m;
  }

  public long dispatched() {
    return dispatched.sum();
  }

  public long unknownSource() {
    return unknownSource.sum();
  }

  public long unknownProcess() {
    return unknownProcess.sum();
  }

  public long malformed() {
    return malformed.sum();
  }

  /** Records of held processes beyond the per-process bound, dropped. */
  public long heldDropped() {
    return heldDropped.sum();
  }

  /** Records of held processes the host then declined. */
  public long heldDeclined() {
    return heldDeclined.sum();
  }
}
