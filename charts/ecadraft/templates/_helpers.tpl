{{/*
Objects keep the names of kubernetes/ (Service ecadraft, Deployment
ecadraft-v1, ...), whatever the release is called: the routes, the subsets and
the docs refer to them by these names, and two releases share one namespace.
*/}}

{{/* The labels Helm's conventions add to every object, on top of kubernetes/'s own. */}}
{{- define "ecadraft.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Deployment, HPA and budget of this release's version. */}}
{{- define "ecadraft.versionName" -}}
ecadraft-{{ .Values.version }}
{{- end }}

{{- define "ecadraft.serviceAccountName" -}}
{{- if .Values.serviceAccount.name }}{{ .Values.serviceAccount.name }}{{ else if .Values.serviceAccount.create }}{{ include "ecadraft.versionName" . }}{{ end }}
{{- end }}

{{- define "ecadraft.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
An env value as text. Numbers from a values file arrive as float64, which
would print 1000000 as 1e+06.
*/}}
{{- define "ecadraft.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/* A duration in Istio's notation from milliseconds: 5000 -> 5s. */}}
{{- define "ecadraft.duration" -}}
{{- $ms := int64 . }}{{ if eq (mod $ms 1000) 0 }}{{ div $ms 1000 }}s{{ else }}{{ $ms }}ms{{ end }}
{{- end }}

{{/* The name of the test pod's service account, which the hardening admits. */}}
{{- define "ecadraft.testServiceAccount" -}}
ecadraft-test
{{- end }}

{{/*
The weighted destinations of the routes: v1 alone at 0, v2 alone at 100,
both otherwise, as kubernetes/'s step files write them.
*/}}
{{- define "ecadraft.weights" -}}
{{- $w := int .Values.routing.canaryWeight }}
{{- if lt $w 100 }}
- version: v1
  weight: {{ sub 100 $w }}
{{- end }}
{{- if gt $w 0 }}
- version: v2
  weight: {{ $w }}
{{- end }}
{{- end }}
