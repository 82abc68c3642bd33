{{/*
Why: every stateless part of the data platform is the same shape: a Deployment (or StatefulSet) with
probes, resources, a non-root user, a read-only root with emptyDirs where the process writes, a Service,
and, when asked, a PodDisruptionBudget and a HorizontalPodAutoscaler. One template makes them, so the
report's hand-made PDBs and HPAs become values.

Call: include "platform.workload" (dict "root" $ "component" "gms" "spec" .Values.gms)
  spec.kind           Deployment (default) | StatefulSet
  spec.image          {repository, tag, pullPolicy}
  spec.replicas, spec.command, spec.args
  spec.ports          [{name, containerPort}]; the Service exposes them (spec.service.enabled, default true)
  spec.probes         {liveness, readiness, startup}: Kubernetes probe objects
  spec.env            {NAME: value}; spec.secretEnv {NAME: key of the chart's Secret}
  spec.resources      {requests, limits}
  spec.user           uid (and gid) the image runs as
  spec.writablePaths  [path]: an emptyDir each (the root filesystem is read-only)
  spec.configMaps     [{name (suffix of <release>-<chart>-), mountPath, subPath?, fullName? (a ConfigMap not of this release)}]
  spec.terminationGracePeriodSeconds
  spec.podAnnotations, spec.nodeSelector, spec.tolerations
  spec.pdb            {enabled, minAvailable | maxUnavailable}
  spec.autoscaling    {enabled, minReplicas, maxReplicas, targetCPUUtilizationPercentage}
*/}}

{{- define "platform.name" -}}
{{- printf "%s-%s-%s" .root.Release.Name .root.Chart.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "platform.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "platform.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{ include "platform.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: 254carbon-data-platform
{{- end -}}

{{- define "platform.secretName" -}}
{{- printf "%s-%s-secrets" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The pod spec body (also used by Jobs and CronJobs): containers, security, volumes. */}}
{{- define "platform.podSpec" -}}
{{- $root := .root -}}
{{- $s := .spec -}}
{{- $uid := int (default 1000 $s.user) -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ $uid }}
  runAsGroup: {{ $uid }}
  fsGroup: {{ $uid }}
  seccompProfile: { type: RuntimeDefault }
{{- with $s.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $s.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
{{- with $s.terminationGracePeriodSeconds }}
terminationGracePeriodSeconds: {{ . }}
{{- end }}
containers:
  - name: {{ .component }}
    image: {{ printf "%s:%s" $s.image.repository (toString $s.image.tag) }}
    imagePullPolicy: {{ default "IfNotPresent" $s.image.pullPolicy }}
    {{- with $s.command }}
    command: {{ toJson . }}
    {{- end }}
    {{- with $s.args }}
    args: {{ toJson . }}
    {{- end }}
    {{- with $s.ports }}
    ports:
      {{- range . }}
      - { name: {{ .name }}, containerPort: {{ .containerPort }}, protocol: TCP }
      {{- end }}
    {{- end }}
    {{- if or $s.env $s.secretEnv }}
    env:
      {{- range $k, $v := $s.env }}
      - { name: {{ $k }}, value: {{ tpl (toString $v) $root | quote }} }
      {{- end }}
      {{- range $k, $key := $s.secretEnv }}
      - name: {{ $k }}
        valueFrom:
          secretKeyRef: { name: {{ include "platform.secretName" $root }}, key: {{ $key }} }
      {{- end }}
    {{- end }}
    {{- with $s.probes }}
    {{- with .startup }}
    startupProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .liveness }}
    livenessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with .readiness }}
    readinessProbe:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- end }}
    resources:
      {{- toYaml $s.resources | nindent 6 }}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: { drop: [ALL] }
    {{- if or $s.writablePaths $s.configMaps }}
    volumeMounts:
      {{- range $i, $p := $s.writablePaths }}
      - { name: {{ printf "writable-%d" $i }}, mountPath: {{ $p }} }
      {{- end }}
      {{- range $s.configMaps }}
      - { name: {{ printf "cm-%s" .name }}, mountPath: {{ .mountPath }}{{ with .subPath }}, subPath: {{ . }}{{ end }}, readOnly: true }
      {{- end }}
    {{- end }}
{{- if or $s.writablePaths $s.configMaps }}
volumes:
  {{- range $i, $p := $s.writablePaths }}
  - name: {{ printf "writable-%d" $i }}
    emptyDir: {}
  {{- end }}
  {{- range $s.configMaps }}
  - name: {{ printf "cm-%s" .name }}
    configMap: { name: {{ default (printf "%s-%s-%s" $root.Release.Name $root.Chart.Name .name | trunc 63 | trimSuffix "-") .fullName }} }
  {{- end }}
{{- end }}
{{- end -}}

{{- define "platform.workload" -}}
{{- $root := .root -}}
{{- $s := .spec -}}
{{- $name := include "platform.name" . -}}
{{- $kind := default "Deployment" $s.kind -}}
apiVersion: apps/v1
kind: {{ $kind }}
metadata:
  name: {{ $name }}
  labels:
    {{- include "platform.labels" . | nindent 4 }}
spec:
  {{- if not (dig "autoscaling" "enabled" false $s) }}
  replicas: {{ $s.replicas }}
  {{- end }}
  {{- if eq $kind "StatefulSet" }}
  serviceName: {{ $name }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "platform.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "platform.selectorLabels" . | nindent 8 }}
      {{- with $s.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- include "platform.podSpec" . | nindent 6 }}
{{- if and $s.ports (ne (toString (dig "service" "enabled" true $s)) "false") }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "platform.labels" . | nindent 4 }}
spec:
  selector:
    {{- include "platform.selectorLabels" . | nindent 4 }}
  ports:
    {{- range $s.ports }}
    - { name: {{ .name }}, port: {{ .containerPort }}, targetPort: {{ .name }}, protocol: TCP }
    {{- end }}
{{- end }}
{{- if dig "pdb" "enabled" false $s }}
{{- $replicas := ternary (dig "autoscaling" "minReplicas" 1 $s) $s.replicas (dig "autoscaling" "enabled" false $s) }}
{{- if and (hasKey $s.pdb "minAvailable") (not (kindIs "string" $s.pdb.minAvailable)) (ge (int $s.pdb.minAvailable) (int $replicas)) }}
{{- fail (printf "%s: pdb.minAvailable (%d) must be below its replicas (%d), or no node drain can ever evict it" $name (int $s.pdb.minAvailable) (int $replicas)) }}
{{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "platform.labels" . | nindent 4 }}
spec:
  {{- if hasKey $s.pdb "minAvailable" }}
  minAvailable: {{ $s.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ default 1 $s.pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "platform.selectorLabels" . | nindent 6 }}
{{- end }}
{{- if dig "autoscaling" "enabled" false $s }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $name }}
  labels:
    {{- include "platform.labels" . | nindent 4 }}
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: {{ $kind }}, name: {{ $name }} }
  minReplicas: {{ $s.autoscaling.minReplicas }}
  maxReplicas: {{ $s.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: { type: Utilization, averageUtilization: {{ default 70 $s.autoscaling.targetCPUUtilizationPercentage }} }
{{- end }}
{{- end -}}

{{/*
An ExternalSecret (External Secrets operator, from Vault) making the chart's Secret. Call:
include "platform.externalSecret" (dict "root" $ "data" (list (dict "secretKey" "db-password" "remoteKey" "datahub/db" "property" "password")))
Uses .Values.global.secrets: {secretStoreRef: {name, kind}, refreshInterval, remotePrefix}.
*/}}
{{- define "platform.externalSecret" -}}
{{- $g := .root.Values.global.secrets -}}
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: {{ include "platform.secretName" .root }}
  labels:
    {{- include "platform.labels" (dict "root" .root "component" "secrets") | nindent 4 }}
  annotations:
    argocd.argoproj.io/sync-wave: "-1"
spec:
  refreshInterval: {{ default "1h" $g.refreshInterval }}
  secretStoreRef: { name: {{ $g.secretStoreRef.name }}, kind: {{ $g.secretStoreRef.kind }} }
  target:
    name: {{ include "platform.secretName" .root }}
    creationPolicy: Owner
  data:
    {{- range .data }}
    - secretKey: {{ .secretKey }}
      remoteRef: { key: {{ printf "%s/%s" $g.remotePrefix .remoteKey }}, property: {{ .property }} }
    {{- end }}
{{- end -}}
