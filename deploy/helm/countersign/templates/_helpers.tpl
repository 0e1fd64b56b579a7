{{/* The release's name for every object, within Kubernetes' 63 characters. */}}
{{- define "countersign.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "countersign.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "countersign.consoleSelectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: console
{{- end -}}

{{- define "countersign.consoleLabels" -}}
{{ include "countersign.consoleSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "countersign.labels" -}}
{{ include "countersign.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "countersign.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "countersign.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "countersign.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The configuration's source, checked: exactly one of inline, existingConfigMap, existingSecret. */}}
{{- define "countersign.configSource" -}}
{{- $n := 0 -}}
{{- if .Values.config.inline }}{{ $n = add1 $n }}{{ end -}}
{{- if .Values.config.existingConfigMap }}{{ $n = add1 $n }}{{ end -}}
{{- if .Values.config.existingSecret }}{{ $n = add1 $n }}{{ end -}}
{{- if ne $n 1 -}}
{{- fail "config: set exactly one of config.inline, config.existingConfigMap and config.existingSecret (the worker's countersign.yaml)" -}}
{{- end -}}
{{- if .Values.config.existingSecret -}}
secret:
  secretName: {{ .Values.config.existingSecret }}
  items:
    - key: {{ .Values.config.key }}
      path: countersign.yaml
{{- else -}}
configMap:
  name: {{ default (printf "%s-config" (include "countersign.fullname" .)) .Values.config.existingConfigMap }}
  items:
    - key: {{ .Values.config.key }}
      path: countersign.yaml
{{- end -}}
{{- end -}}
