{{/*
Names, labels, the image reference and the capability set, shared by every template.
*/}}

{{- define "goscope.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: the release name, plus the chart name unless the release name already contains it.
*/}}
{{- define "goscope.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "goscope.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (a DaemonSet's selector is immutable).
*/}}
{{- define "goscope.selectorLabels" -}}
app.kubernetes.io/name: {{ include "goscope.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/).
*/}}
{{- define "goscope.labels" -}}
helm.sh/chart: {{ include "goscope.chart" . }}
{{ include "goscope.selectorLabels" . }}
app.kubernetes.io/version: {{ include "goscope.imageTag" . | quote }}
app.kubernetes.io/component: agent
app.kubernetes.io/part-of: goscope
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "goscope.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "goscope.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image tag: image.tag, else the chart's appVersion. "latest" is refused (also by the schema).
*/}}
{{- define "goscope.imageTag" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if eq $tag "latest" }}
{{- fail "image.tag must not be \"latest\": pin a version (or set image.digest) so every node runs the same agent" }}
{{- end }}
{{- $tag }}
{{- end }}

{{/*
registry/repository[:tag][@digest] of the agent image. A digest pins the image; the tag is then informative.
*/}}
{{- define "goscope.image" -}}
{{- $repo := .Values.image.repository }}
{{- if .Values.image.registry }}
{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" $repo (include "goscope.imageTag" .) .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (include "goscope.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
Where the agent's plugin jars are read from. With extra plugins (images or a volume), init containers copy the
image's built-in plugins and the extra jars into one emptyDir; otherwise the image's own plugins/ directory.
*/}}
{{- define "goscope.hasExtraPlugins" -}}
{{- if or .Values.plugins.images .Values.plugins.volume }}true{{ end }}
{{- end }}

{{- define "goscope.pluginsDir" -}}
{{- if include "goscope.hasExtraPlugins" . }}/var/lib/goscope/plugins{{ else }}/opt/goscope/plugins{{ end }}
{{- end }}

{{/*
Capabilities of the least-privilege mode. Each one says what needs it:
  BPF                 bpf(): load programs, create maps (kernel >= 5.8)
  PERFMON             perf_event_open() for tracepoints, bpf_probe_read_user in tracing programs
  SYS_PTRACE          read /proc/<pid>/exe, /proc/<pid>/root and environ of processes of other users
  DAC_READ_SEARCH     open application binaries and /proc entries whatever their file modes
  CHECKPOINT_RESTORE  read /proc/<pid>/map_files (binaries deleted or replaced since the process started)
  SYS_ADMIN           creating a uprobe: kernels with "perf: Revert to requiring CAP_SYS_ADMIN for uprobes"
                      (upstream ba677dbe77af, 2025, backported to the stable kernels) refuse PERFMON alone with
                      EACCES (security.uprobesNeedSysAdmin); and, for outgoing trace-context propagation
                      (propagation.enabled), bpf_probe_write_user or, under kernel lockdown, the sock_ops and
                      sk_msg programs that insert the header at the socket (SYS_ADMIN covers NET_ADMIN there)
  SYS_RESOURCE        raise RLIMIT_MEMLOCK: kernels before 5.11 charge BPF maps to it (security.memlockRlimit)
*/}}
{{- define "goscope.capabilities" -}}
{{- $caps := list "BPF" "PERFMON" "SYS_PTRACE" "DAC_READ_SEARCH" "CHECKPOINT_RESTORE" }}
{{- if or .Values.security.uprobesNeedSysAdmin .Values.propagation.enabled }}
{{- $caps = append $caps "SYS_ADMIN" }}
{{- end }}
{{- if .Values.security.memlockRlimit }}
{{- $caps = append $caps "SYS_RESOURCE" }}
{{- end }}
{{- range .Values.security.extraCapabilities }}
{{- $caps = append $caps . }}
{{- end }}
{{- toYaml (uniq $caps) }}
{{- end }}

{{/*
The security context of the containers that only copy files (plugin init containers): no privilege at all.
*/}}
{{- define "goscope.copySecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The rules and offset-bundle ConfigMaps as rendered, hashed into the pod template so a change rolls the DaemonSet.
*/}}
{{- define "goscope.configChecksum" -}}
{{- include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{/*
OTEL_RESOURCE_ATTRIBUTES from a map: key=value pairs, sorted by key, comma-separated.
*/}}
{{- define "goscope.resourceAttributes" -}}
{{- $pairs := list }}
{{- range $k, $v := . }}
{{- $pairs = append $pairs (printf "%s=%v" $k $v) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}
