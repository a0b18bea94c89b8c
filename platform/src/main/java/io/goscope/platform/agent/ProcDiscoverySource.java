package io.goscope.platform.agent;

import static java.util.Objects.requireNonNull;

import io.goscope.api.DiscoveryContext;
import io.goscope.api.DiscoverySource;
import io.goscope.api.Nullable;
import io.goscope.platform.discovery.ProcessScanner;
import io.goscope.platform.instrument.HostMaps;
import io.goscope.platform.instrument.RecordDispatcher;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The built-in {@code proc} discovery source: processes of the host's /proc. Exec and exit events come within one
 * ring-buffer drain from the {@code sched_process_exec}/{@code sched_process_exit} tracepoints; a poll of /proc
 * (default every second) is the safety net for anything the events miss (an agent restart, a full ring buffer).
 */
final class ProcDiscoverySource implements DiscoverySource {
  private static final Logger log = LoggerFactory.getLogger(ProcDiscoverySource.class);
  static final String NAME = "proc";
  private static final int MAX_PENDING_EXECS = 4096;

  /** Every how many polls the scan also verifies the start time of known processes. */
  static final int VERIFY_EVERY = 10;

  private final ProcessScanner scanner;
  private final Duration pollInterval;
  private final HostMaps hostMaps;
  private final RecordDispatcher dispatcher;
  private final Map<Integer, Long> execTimes;
  @Nullable private ProcessEvents events;
  @Nullable private ScheduledExecutorService poller;
  private long polls; // touched by the poll thread only

  /**
   * @param execTimes receives the kernel timestamp of each exec event by pid, for the exec-to-attached latency
   */
  ProcDiscoverySource(ProcessScanner scanner, Duration pollInterval, HostMaps hostMaps, RecordDispatcher dispatcher,
      Map<Integer, Long> execTimes) {
    this.scanner = requireNonNull(scanner, "scanner");
    this.pollInterval = requireNonNull(pollInterval, "pollInterval");
    this.hostMaps = requireNonNull(hostMaps, "hostMaps");
    this.dispatcher = requireNonNull(dispatcher, "dispatcher");
    this.execTimes = requireNonNull(execTimes, "execTimes");
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public synchronized void start(DiscoveryContext context) {
    try {
      events = ProcessEvents.start(hostMaps,
          (pid, ktime) -> {
            if (execTimes.size() > MAX_PENDING_EXECS) {
              execTimes.clear();
            }
            execTimes.put(pid, ktime);
            context.processStarted(pid);
          },
          (pid, ktime) -> context.processExited(pid));
      dispatcher.setHostHandler(ProcessEvents.EXEC, events::onRecord);
      dispatcher.setHostHandler(ProcessEvents.EXIT, events::onRecord);
    } catch (RuntimeException e) {
      log.warn("process events unavailable, relying on the /proc poll every {} reason={}", pollInterval,
          e.getMessage());
    }
    poller = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "goscope-proc-poll");
      t.setDaemon(true);
      return t;
    });
    long pollMs = Math.max(50, pollInterval.toMillis());
    poller.scheduleWithFixedDelay(() -> poll(context), 0, pollMs, TimeUnit.MILLISECONDS);
  }

  private void poll(DiscoveryContext context) {
    try {
      // Most polls only diff the pid listing; every VERIFY_EVERY-th also re-reads known start times to catch a
      // pid reused between polls (exec/exit events report those at once when they are live).
      ProcessScanner.Delta delta = scanner.scan(polls++ % VERIFY_EVERY == 0);
      delta.exited().forEach(context::processExited);
      delta.started().forEach(context::processStarted);
    } catch (RuntimeException e) {
      log.warn("process poll failed reason={}", e.toString());
    }
  }

  @Override
  public synchronized void close() {
    if (poller != null) {
      poller.shutdownNow();
      poller = null;
    }
    if (events != null) {
      dispatcher.setHostHandler(ProcessEvents.EXEC, null);
      dispatcher.setHostHandler(ProcessEvents.EXIT, null);
      events.close();
      events = null;
    }
  }
}
