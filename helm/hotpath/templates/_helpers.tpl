{{/* Why: names, labels and the paths every template agrees on (one place, so a PDB always selects the Deployment's pods). */}}

{{- define "hotpath.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hotpath.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hotpath.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hotpath.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hotpath.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "hotpath.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: 254carbon
{{- end -}}

{{- define "hotpath.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hotpath.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The folder hotpath reads its secret files from: the Vault agent's, or a mounted Secret's. */}}
{{- define "hotpath.secretsDir" -}}
{{- if eq .Values.secrets.provider "vaultAgent" -}}/vault/secrets{{- else -}}/etc/hotpath/secrets{{- end -}}
{{- end -}}

{{/* The Kubernetes Secret mounted as files (externalSecret: the one it makes; existingSecret: yours). */}}
{{- define "hotpath.secretName" -}}
{{- if eq .Values.secrets.provider "existingSecret" -}}{{ .Values.secrets.existingSecret }}{{- else -}}{{ include "hotpath.fullname" . }}-secrets{{- end -}}
{{- end -}}

{{/* The file names of the secret items (as the Vault agent and the Secret's keys name them). */}}
{{- define "hotpath.secretFiles" -}}
authTokens: auth-tokens.json
authPasswords: auth-passwords.json
jwtSecret: jwt-secret
redisUrl: redis-url
{{- end -}}

{{- define "hotpath.scheme" -}}
{{- if .Values.tls.enabled -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}

{{- define "hotpath.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
