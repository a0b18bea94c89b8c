package io.goscope.platform.export;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** A test exporter that records batches; can be told to fail, hang, or block until released. */
final class RecordingExporter implements SpanExporter {
  final List<SpanData> spans = new ArrayList<>();
  final List<Integer> batchSizes = new ArrayList<>();
  final AtomicInteger shutdowns = new AtomicInteger();
  volatile boolean fail;
  volatile boolean neverComplete;
  volatile CountDownLatch gate;
  /** When set, every export fails with it (e.g. a ConnectException: the backend is down). */
  volatile Throwable failWith;

  @Override
  public synchronized CompletableResultCode export(Collection<SpanData> batch) {
    CountDownLatch g = gate;
    if (g != null) {
      try {
        g.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    batchSizes.add(batch.size());
    if (neverComplete) {
      return new CompletableResultCode();
    }
    if (fail) {
      return CompletableResultCode.ofFailure();
    }
    Throwable t = failWith;
    if (t != null) {
      return CompletableResultCode.ofExceptionalFailure(t);
    }
    spans.addAll(batch);
    return CompletableResultCode.ofSuccess();
  }

  synchronized List<SpanData> spans() {
    return List.copyOf(spans);
  }

  synchronized List<Integer> batchSizes() {
    return List.copyOf(batchSizes);
  }

  @Override
  public CompletableResultCode flush() {
    return CompletableResultCode.ofSuccess();
  }

  @Override
  public CompletableResultCode shutdown() {
    shutdowns.incrementAndGet();
    return CompletableResultCode.ofSuccess();
  }
}
