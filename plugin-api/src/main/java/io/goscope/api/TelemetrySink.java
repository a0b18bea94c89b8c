package io.goscope.api;

/**
 * Receives what decoders produce. The host attaches the traced process's resource (service, process and Kubernetes
 * attributes), converts kernel timestamps and batches for export. Never blocks: when the export queue is full the
 * item is dropped and counted.
 */
public interface TelemetrySink {

  /** Emits one finished span. */
  void span(ProbeSpan span);
}
