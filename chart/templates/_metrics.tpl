{{/*
The agent's self-metrics (served on the admin port at /metrics) that the PrometheusRule alerts use, in one place so
a rename in the agent is a one-line change here.
  processesInstrumented  gauge: processes with probes attached right now
  lossCounters           regex over counter names: every place an event can be lost (ring buffer, decode, queues,
                         exits), by the agent's convention "goscope_*_dropped_total" or "goscope_*_lost_total"
  exportFailures         counter: export calls that failed after retries
*/}}
{{- define "goscope.metrics" -}}
processesInstrumented: goscope_processes_instrumented
lossCounters: goscope_.+_(dropped|lost)_total
exportFailures: goscope_export_failures_total
{{- end }}
