{{/* Why: the pod templates of Ray's head and of a GPU worker group, shared by the RayCluster and the RayJob. */}}

{{- define "ml.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: 254carbon-ml-platform
{{- end -}}

{{- define "ml.securityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.ray.user }}
runAsGroup: {{ .Values.ray.user }}
fsGroup: {{ .Values.ray.user }}
seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{- define "ml.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities: { drop: [ALL] }
{{- end -}}

{{/* The head: no GPU, the default scheduler. */}}
{{- define "ml.headTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "ml.labels" $root | nindent 4 }}
spec:
  securityContext:
    {{- include "ml.securityContext" $root | nindent 4 }}
  containers:
    - name: ray-head
      image: {{ $root.Values.ray.image }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      securityContext:
        {{- include "ml.containerSecurity" $root | nindent 8 }}
      volumeMounts:
        - { name: ray-tmp, mountPath: /tmp/ray }
  volumes:
    - name: ray-tmp
      emptyDir: {}
{{- end -}}

{{/* A GPU worker: hotpath schedules it onto a K80 node; the devices hotpath chose come back through the downward API. */}}
{{- define "ml.workerTemplate" -}}
{{- $root := .root -}}
{{- $g := .group -}}
{{- $limits := deepCopy $g.resources.limits -}}
{{- if $g.gpus }}{{ $_ := set $limits "nvidia.com/gpu" (toString $g.gpus) }}{{ end -}}
metadata:
  labels:
    {{- include "ml.labels" $root | nindent 4 }}
    hotpath.254carbon.io/tenant: {{ $root.Values.hotpath.tenant }}
  {{- if or $g.gpuMilli (not $root.Values.hotpath.preemptible) }}
  annotations:
    {{- with $g.gpuMilli }}
    hotpath.254carbon.io/gpu-milli: {{ . | quote }}
    {{- end }}
    {{- with $g.gpuMemoryMiB }}
    hotpath.254carbon.io/gpu-memory-mib: {{ . | quote }}
    {{- end }}
    {{- if not $root.Values.hotpath.preemptible }}
    hotpath.254carbon.io/preemptible: "false"
    {{- end }}
  {{- end }}
spec:
  schedulerName: {{ $root.Values.hotpath.schedulerName }}
  nodeSelector:
    nvidia.com/gpu.product: {{ $root.Values.gpuNodes.product }}
  {{- with $root.Values.gpuNodes.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "ml.securityContext" $root | nindent 4 }}
  containers:
    - name: ray-worker
      image: {{ $root.Values.ray.gpuImage }}
      env:
        - name: HOTPATH_GPU_DEVICES
          valueFrom:
            fieldRef:
              fieldPath: metadata.annotations['hotpath.254carbon.io/gpu-devices']
      resources:
        requests:
          {{- toYaml $g.resources.requests | nindent 10 }}
        limits:
          {{- toYaml $limits | nindent 10 }}
      securityContext:
        {{- include "ml.containerSecurity" $root | nindent 8 }}
      volumeMounts:
        - { name: ray-tmp, mountPath: /tmp/ray }
  volumes:
    - name: ray-tmp
      emptyDir: {}
{{- end -}}

{{- define "ml.rayStartParams" -}}
{{- if .gpuMilli -}}
num-gpus: {{ divf .gpuMilli 1000.0 | toString | quote }}
{{- else -}}
num-gpus: {{ toString (default 0 .gpus) | quote }}
{{- end -}}
{{- end -}}
