{{/* Names, labels and small shared snippets. Every template uses these; nothing else is defined. */}}

{{- define "herald.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "herald.fullname" -}}
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

{{/* "<fullname>-<component>", e.g. herald-edge. Call with (dict "root" $ "component" "edge"). */}}
{{- define "herald.componentName" -}}
{{- printf "%s-%s" (include "herald.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "herald.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. Call with (dict "root" $ "component" "edge"). */}}
{{- define "herald.labels" -}}
helm.sh/chart: {{ include "herald.chart" .root }}
{{ include "herald.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: herald
{{- end }}

{{/* Labels that select one component's pods. Call with (dict "root" $ "component" "edge"). */}}
{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: {{ include "herald.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* registry + repository + tag. Call with (dict "root" $ "image" .Values.edge.image). */}}
{{- define "herald.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag -}}
{{- printf "%s%s:%s" .root.Values.image.registry .image.repository $tag }}
{{- end }}

{{/* The Secret holding JWT keys, API bearer tokens and other key files. */}}
{{- define "herald.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- include "herald.componentName" (dict "root" . "component" "secrets") }}
{{- end }}
{{- end }}

{{/* bus.nats_urls as a JSON list: the bundled NATS Service, else nats.external.urls; empty when
     the URLs come only from nats.external.urlsSecret (HERALD_BUS_NATS_URLS). */}}
{{- define "herald.natsUrls" -}}
{{- if .Values.nats.bundled.enabled }}
{{- list (printf "nats://%s:%d" (include "herald.componentName" (dict "root" . "component" "nats")) (int .Values.nats.bundled.port)) | toJson }}
{{- else if .Values.nats.external.urls }}
{{- .Values.nats.external.urls | toJson }}
{{- else if not .Values.nats.external.urlsSecret.name }}
{{- fail "nats: set nats.bundled.enabled, nats.external.urls or nats.external.urlsSecret" }}
{{- end }}
{{- end }}

{{/* Pod anti-affinity: prefer spreading a component's pods over nodes. */}}
{{- define "herald.antiAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "herald.selectorLabels" . | nindent 12 }}
{{- end }}

{{/* terminationGracePeriodSeconds = preStop sleep + drain deadline + margin (see docs/operations.md). */}}
{{- define "herald.terminationGracePeriod" -}}
{{- add .Values.drain.preStopSleepSeconds .Values.drain.deadlineSeconds .Values.drain.marginSeconds }}
{{- end }}

{{/* Environment every Herald process gets: node id = pod name, drain deadline. */}}
{{- define "herald.commonEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: HERALD_NODE_ID
  value: "$(POD_NAME)"
# Read by the graceful drain on SIGTERM (drain.deadline_s). Passed as an environment override so
# terminationGracePeriodSeconds and the drain deadline come from the one value drain.deadlineSeconds.
- name: HERALD_DRAIN_DEADLINE_S
  value: {{ .Values.drain.deadlineSeconds | quote }}
{{- if .Values.nats.external.urlsSecret.name }}
- name: HERALD_BUS_NATS_URLS
  valueFrom:
    secretKeyRef:
      name: {{ .Values.nats.external.urlsSecret.name }}
      key: {{ .Values.nats.external.urlsSecret.key }}
{{- end }}
{{- end }}

{{/* Pod and container security contexts. */}}
{{- define "herald.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "herald.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}
