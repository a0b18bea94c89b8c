package io.goscope.platform.agent;

import io.goscope.api.GoscopeException;
import io.goscope.api.ProbeSetDescriptor;
import io.goscope.api.RecordHeader;
import io.goscope.platform.instrument.BpfObjectResources;
import io.goscope.platform.instrument.HostMaps;
import io.goscope.platform.sys.BpfLink;
import io.goscope.platform.sys.BpfObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exec and exit events from the {@code sched:sched_process_exec} / {@code sched:sched_process_exit} tracepoints
 * ({@code bpf-programs/src/process_events.bpf.c}), written into the shared ring buffer with the host's reserved
 * source id 0. They make discovery react within one drain interval; the /proc poll and the reconcile remain the
 * safety net.
 */
final class ProcessEvents implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProcessEvents.class);
  static final int SOURCE = 0;
  static final int EXEC = 1;
  static final int EXIT = 2;
  private static final String OBJECT = "bpf/process_events.bpf.o";
  /** The exit program that also drops the exiting process's trace contexts (kernel 5.13+). */
  static final String PURGING_EXIT = "gs_process_exit_purge";
  static final String PLAIN_EXIT = "gs_process_exit";

  private final BpfObject object;
  private final String exitProgram;
  private final List<BpfLink> links;
  private final Listener onExec;
  private final Listener onExit;

  /** Receives a process event: host pid and the kernel's monotonic timestamp of the event. */
  @FunctionalInterface
  interface Listener {
    void onEvent(int pid, long ktimeNanos);
  }

  private ProcessEvents(BpfObject object, String exitProgram, List<BpfLink> links, Listener onExec, Listener onExit) {
    this.object = object;
    this.exitProgram = exitProgram;
    this.links = links;
    this.onExec = onExec;
    this.onExit = onExit;
  }

  /** Loads and attaches the tracepoint programs; throws naming the step when the kernel refuses. */
  static ProcessEvents start(HostMaps hostMaps, Listener onExec, Listener onExit) {
    String arch = BpfObjectResources.hostArch();
    String resource = arch != null
        && ProcessEvents.class.getClassLoader().getResource(BpfObjectResources.forArch(OBJECT, arch)) != null
        ? BpfObjectResources.forArch(OBJECT, arch) : OBJECT;
    byte[] bytes;
    try (InputStream in = ProcessEvents.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new GoscopeException("process events: resource " + resource + " missing from the platform jar");
      }
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new GoscopeException("process events: read " + resource + ": " + e.getMessage(), e);
    }
    BpfObject object;
    String exit = PURGING_EXIT;
    try {
      object = load(bytes, hostMaps, PURGING_EXIT);
    } catch (RuntimeException e) {
      // bpf_for_each_map_elem is kernel 5.13+: without it, contexts of exited processes age out of the LRU map.
      log.warn("trace contexts of exited processes are not purged in the kernel (they age out instead) reason={}",
          e.getMessage());
      exit = PLAIN_EXIT;
      object = load(bytes, hostMaps, PLAIN_EXIT);
    }
    List<BpfLink> links = new ArrayList<>();
    try {
      links.add(object.attachTracepoint("gs_process_exec", "sched", "sched_process_exec"));
      links.add(object.attachTracepoint(exit, "sched", "sched_process_exit"));
    } catch (RuntimeException e) {
      links.forEach(BpfLink::close);
      object.close();
      throw e;
    }
    log.info("process events attached tracepoints=sched_process_exec,sched_process_exit exitProgram={}", exit);
    return new ProcessEvents(object, exit, links, onExec, onExit);
  }

  /** Opens and loads the object with one of its two exit programs. */
  private static BpfObject load(byte[] bytes, HostMaps hostMaps, String exitProgram) {
    BpfObject object = BpfObject.open("process_events", bytes);
    try {
      object.setConstant(ProbeSetDescriptor.SOURCE_CONSTANT, SOURCE);
      object.setAutoload(PURGING_EXIT, exitProgram.equals(PURGING_EXIT));
      object.setAutoload(PLAIN_EXIT, exitProgram.equals(PLAIN_EXIT));
      hostMaps.reuseInto(object);
      object.load();
      return object;
    } catch (RuntimeException e) {
      object.close();
      throw e;
    }
  }

  /** The exit program attached: {@link #PURGING_EXIT}, or {@link #PLAIN_EXIT} where the kernel refused it. */
  String exitProgram() {
    return exitProgram;
  }

  /** Handles a record of source 0. Called on the ring-buffer thread; the consumers must not block. */
  void onRecord(ByteBuffer record, RecordHeader header) {
    long ktime = record.remaining() >= RecordHeader.SIZE + 8 ? record.getLong(record.position() + RecordHeader.SIZE) : 0;
    switch (header.type()) {
      case EXEC -> onExec.onEvent(header.pid(), ktime);
      case EXIT -> onExit.onEvent(header.pid(), ktime);
      default -> { }
    }
  }

  @Override
  public void close() {
    links.forEach(BpfLink::close);
    object.close();
  }
}
