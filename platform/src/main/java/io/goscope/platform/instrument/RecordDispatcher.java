package io.goscope.platform.instrument;

import io.goscope.api.RecordFormatException;
import io.goscope.api.RecordHeader;
import io.goscope.api.TelemetrySink;
import java.nio.ByteBuffer;
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
 */
public final class RecordDispatcher {
  private static final Logger log = LoggerFactory.getLogger(RecordDispatcher.class);

  private final ProbeSetRuntime[] bySource;
  private final LongAdder[] decodedBySource;
  private final Map<Integer, TelemetrySink> sinks = new ConcurrentHashMap<>();
  private final LongAdder dispatched = new LongAdder();
  private final LongAdder unknownSource = new LongAdder();
  private final LongAdder unknownProcess = new LongAdder();
  private final LongAdder malformed = new LongAdder();
  private volatile boolean loggedMalformed;
  private volatile HostRecordHandler hostHandler;

  /** Receives the records the host's own programs write (source id 0). */
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

  /** Sets the handler of source-0 records (process exec/exit events). */
  public void setHostHandler(HostRecordHandler handler) {
    this.hostHandler = handler;
  }

  /** Routes records of {@code pid} to {@code sink}. */
  public void register(int pid, TelemetrySink sink) {
    sinks.put(pid, sink);
  }

  /** Stops routing records of {@code pid}; records that still arrive are counted as unknown-process. */
  public void unregister(int pid) {
    sinks.remove(pid);
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
      HostRecordHandler h = hostHandler;
      if (h != null) {
        h.onRecord(record, header);
      } else {
        unknownSource.increment();
      }
      return;
    }
    ProbeSetRuntime runtime = header.source() < bySource.length ? bySource[header.source()] : null;
    if (runtime == null) {
      unknownSource.increment();
      return;
    }
    TelemetrySink sink = sinks.get(header.pid());
    if (sink == null) {
      unknownProcess.increment();
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
}
