{{/* Names and labels shared by every resource of the release. */}}

{{- define "newswire.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "newswire.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "newswire.labels" -}}
{{ include "newswire.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The generated topic declarations (python -m workers.deploy_gen), as a dict. */}}
{{- define "newswire.topics" -}}
{{- .Files.Get "files/topics.json" -}}
{{- end -}}

{{/* Partitions of a logical topic: call with (dict "root" $ "topic" NAME). Fails on an unknown topic. */}}
{{- define "newswire.partitions" -}}
{{- $found := 0 -}}
{{- range (include "newswire.topics" .root | fromJson).topics -}}
{{- if eq .name $.topic }}{{ $found = .partitions }}{{ end -}}
{{- end -}}
{{- if not $found }}{{ fail (printf "topic %s is not declared in topics/topics.yaml" .topic) }}{{ end -}}
{{- $found -}}
{{- end -}}

{{/* Highest replica count for a stage: (dict "root" $ "stage" STAGE "wanted" N) -> min(N, partitions). */}}
{{- define "newswire.maxReplicas" -}}
{{- $partitions := include "newswire.partitions" (dict "root" .root "topic" .stage.inputTopic) | int -}}
{{- min (int .wanted) $partitions -}}
{{- end -}}

{{/* A Kubernetes object name for a Kafka topic name (DNS subdomain: lower case, no underscores). */}}
{{- define "newswire.topicResourceName" -}}
{{- . | lower | replace "_" "-" | trunc 253 | trimSuffix "." | trimSuffix "-" -}}
{{- end -}}
