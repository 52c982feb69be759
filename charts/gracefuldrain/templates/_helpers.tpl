{{/*
Chart name, for the app.kubernetes.io/name label.
*/}}
{{- define "gracefuldrain.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every object name. config/default prefixes names with
"gracefuldrain-"; release "gracefuldrain" gives the same names, so a kustomize
install and a Helm install of that release name name their objects alike.
Other release names get "<release>-gracefuldrain" (Helm's usual convention).
Object names append at most 35 characters ("-controller-manager-metrics-service"),
so the prefix is cut at 28 to keep Service names within 63.
*/}}
{{- define "gracefuldrain.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 28 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 28 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 28 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Labels of every object: the ones config/default adds, with managed-by saying
who manages the objects (Helm, from .Release.Service). Helm also requires
app.kubernetes.io/managed-by=Helm to adopt objects a kustomize install created.
*/}}
{{- define "gracefuldrain.labels" -}}
app.kubernetes.io/name: {{ include "gracefuldrain.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The manager pods' selector. Immutable on a Deployment, so it is the same as
config/default's and carries no release-specific label.
*/}}
{{- define "gracefuldrain.selectorLabels" -}}
control-plane: controller-manager
app.kubernetes.io/name: {{ include "gracefuldrain.name" . }}
{{- end }}

{{- define "gracefuldrain.serviceAccountName" -}}
{{ include "gracefuldrain.fullname" . }}-controller-manager
{{- end }}

{{- define "gracefuldrain.metricsServiceName" -}}
{{ include "gracefuldrain.fullname" . }}-controller-manager-metrics-service
{{- end }}

{{/*
The manager's arguments. The first three are always passed, as config/default
passes them; every other flag only when its value differs from the manager's
built-in default, which values.yaml shows. Keep the defaults below equal to
values.yaml (the chart equivalence test fails otherwise) and to main.go (the
manager's values test fails otherwise).
*/}}
{{- define "gracefuldrain.managerArgs" -}}
{{- $m := .Values.manager -}}
{{- if $m.leaderElect }}
- --leader-elect
{{- end }}
- --health-probe-bind-address=:8081
- --metrics-bind-address=:8080
{{- if $m.forceAudit }}
- --force-audit
{{- end }}
{{- if ne (int $m.albIPPreStopSeconds) 70 }}
- --alb-ip-prestop-seconds={{ int $m.albIPPreStopSeconds }}
{{- end }}
{{- if ne (int $m.nlbIPPreStopSeconds) 190 }}
- --nlb-ip-prestop-seconds={{ int $m.nlbIPPreStopSeconds }}
{{- end }}
{{- if ne (int $m.instancePreStopSeconds) 20 }}
- --instance-prestop-seconds={{ int $m.instancePreStopSeconds }}
{{- end }}
{{- if ne (int $m.shutdownSeconds) 30 }}
- --shutdown-seconds={{ int $m.shutdownSeconds }}
{{- end }}
{{- if ne $m.sleepMethod "auto" }}
- --sleep-method={{ $m.sleepMethod }}
{{- end }}
{{- if ne (int $m.maxReapplies) 3 }}
- --max-reapplies={{ int $m.maxReapplies }}
{{- end }}
{{- if ne (toString $m.revertWindow) "1h" }}
- --revert-window={{ $m.revertWindow }}
{{- end }}
{{- if ne (float64 $m.kubeAPIQPS) 50.0 }}
- --kube-api-qps={{ $m.kubeAPIQPS }}
{{- end }}
{{- if ne (int $m.kubeAPIBurst) 100 }}
- --kube-api-burst={{ int $m.kubeAPIBurst }}
{{- end }}
{{- if ne (int $m.maxConcurrentReconciles) 4 }}
- --max-concurrent-reconciles={{ int $m.maxConcurrentReconciles }}
{{- end }}
{{- if ne (toString $m.logLevel) "info" }}
- --zap-log-level={{ $m.logLevel }}
{{- end }}
{{- include "gracefuldrain.webhookArgs" . }}
{{- range $m.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Names of the admission webhook's objects. The manager is told them by flag
only when they differ from its defaults (release "gracefuldrain" in
"gracefuldrain-system" gives the defaults, as config/default does).
*/}}
{{- define "gracefuldrain.webhookServiceName" -}}
{{ include "gracefuldrain.fullname" . }}-webhook-service
{{- end }}

{{- define "gracefuldrain.webhookSecretName" -}}
{{ include "gracefuldrain.fullname" . }}-webhook-server-cert
{{- end }}

{{- define "gracefuldrain.webhookConfigurationName" -}}
{{ include "gracefuldrain.fullname" . }}-mutating-webhook-configuration
{{- end }}

{{- define "gracefuldrain.webhookArgs" -}}
{{- if not .Values.webhook.enabled }}
- --webhook-port=0
{{- else }}
{{- if .Values.webhook.certManager.enabled }}
- --webhook-cert-path=/tmp/k8s-webhook-server/serving-certs
{{- end }}
{{- if ne (include "gracefuldrain.webhookServiceName" .) "gracefuldrain-webhook-service" }}
- --webhook-service={{ include "gracefuldrain.webhookServiceName" . }}
{{- end }}
{{- if ne (include "gracefuldrain.webhookSecretName" .) "gracefuldrain-webhook-server-cert" }}
- --webhook-secret={{ include "gracefuldrain.webhookSecretName" . }}
{{- end }}
{{- if ne (include "gracefuldrain.webhookConfigurationName" .) "gracefuldrain-mutating-webhook-configuration" }}
- --webhook-configuration={{ include "gracefuldrain.webhookConfigurationName" . }}
{{- end }}
{{- end }}
{{- end }}
