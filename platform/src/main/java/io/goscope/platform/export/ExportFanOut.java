package io.goscope.platform.export;

import static java.util.Objects.requireNonNull;

import io.goscope.api.Nullable;
import io.opentelemetry.sdk.common.CompletableResultCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends one batch to every exporter and waits, bounded, for all of them. Logs only transitions: the first failure
 * (with its cause as text, never a stack trace) and the recovery, so a backend that stays down costs two lines,
 * not one per batch. Used by one export thread at a time.
 */
final class ExportFanOut {
  private static final Logger log = LoggerFactory.getLogger(ExportFanOut.class);

  private final String signal;
  private final long timeoutNanos;
  private boolean failing;

  /**
   * @param signal what is exported, for the log ({@code span}, {@code metric})
   * @param timeout how long to wait for all exporters
   */
  ExportFanOut(String signal, Duration timeout) {
    this.signal = requireNonNull(signal, "signal");
    this.timeoutNanos = timeout.toNanos();
  }

  /**
   * Exports through every exporter.
   *
   * @param call starts the export on one exporter
   * @param detail what the batch was and the counters so far, for the transition log lines
   * @return null when every exporter succeeded within the timeout, else why not ({@link ExportFailure#reason})
   */
  @Nullable
  <E> String export(List<E> exporters, Function<E, CompletableResultCode> call, Supplier<String> detail) {
    List<CompletableResultCode> results = callEach(exporters, call, signal + " export");
    CompletableResultCode all = CompletableResultCode.ofAll(results).join(timeoutNanos, TimeUnit.NANOSECONDS);
    if (all.isSuccess()) {
      if (failing) {
        failing = false;
        log.info("{} export recovered {}", signal, detail.get());
      }
      return null;
    }
    Throwable cause = null;
    for (CompletableResultCode r : results) {
      if (r.isDone() && !r.isSuccess() && r.getFailureThrowable() != null) {
        cause = r.getFailureThrowable();
      }
    }
    String reason = !all.isDone() ? ExportFailure.TIMEOUT : ExportFailure.reason(cause);
    if (!failing) {
      failing = true;
      log.warn("{} export failing; counting failures until it recovers {} reason={} cause={}", signal,
          detail.get(), reason, cause == null ? "exporter reported failure" : cause.toString());
    }
    return reason;
  }

  /**
   * Calls every exporter (e.g. {@code shutdown}) and waits up to {@code timeout} for all of them.
   *
   * @return whether all succeeded in time
   */
  static <E> boolean callAll(List<E> exporters, Function<E, CompletableResultCode> call, Duration timeout,
      String what) {
    return CompletableResultCode.ofAll(callEach(exporters, call, what))
        .join(timeout.toNanos(), TimeUnit.NANOSECONDS).isSuccess();
  }

  /** Starts the call on each exporter; one that throws counts as failed (logged at DEBUG, once per call). */
  private static <E> List<CompletableResultCode> callEach(List<E> exporters, Function<E, CompletableResultCode> call,
      String what) {
    List<CompletableResultCode> results = new ArrayList<>(exporters.size());
    for (E exporter : exporters) {
      try {
        results.add(call.apply(exporter));
      } catch (RuntimeException e) {
        log.warn("{} failed exporter={} reason={}", what, exporter, e.toString());
        results.add(CompletableResultCode.ofFailure());
      }
    }
    return results;
  }
}
