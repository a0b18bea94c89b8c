{{/*
The agent's self-metrics (served on the admin port at /metrics) that the PrometheusRule alerts use, in one place so
a rename in the agent is a one-line change here.
  processesInstrumented  gauge: processes with probes attached right now
  lossCounters           regex over counter names: every place an event can be lost: the ring buffer
                         (goscope_ringbuf_reserve_failures_total), in-flight maps (goscope_calls_unmatched_total),
                         decoding and exits (goscope_records_lost_total), the queues (goscope_*_dropped_total)
  exportFailures         counter: spans whose export failed after retries
ChartRenderTest checks every name here against the agent's own list (io.goscope.platform.admin.SelfMetrics).
*/}}
{{- define "goscope.metrics" -}}
processesInstrumented: goscope_processes_instrumented
lossCounters: goscope_(.+_dropped|.+_lost|ringbuf_reserve_failures|calls_unmatched)_total
exportFailures: goscope_spans_export_failed_total
{{- end }}
