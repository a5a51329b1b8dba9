{{/*
Names. Every resource is "<fullname>-<component>"; the release name alone is the prefix when it already
contains the chart name (the UI installs release "understory", so names read "understory-clickhouse").
*/}}
{{- define "understory.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "understory.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<fullname>-<component>"; call with (dict "root" $ "component" "clickhouse"). */}}
{{- define "understory.componentName" -}}
{{- printf "%s-%s" (include "understory.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "understory.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource; call with (dict "root" $ "component" "ingester"). */}}
{{- define "understory.labels" -}}
helm.sh/chart: {{ include "understory.chart" .root }}
{{ include "understory.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: understory
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels: stable across upgrades (never add a label here after a release). */}}
{{- define "understory.selectorLabels" -}}
app.kubernetes.io/name: {{ include "understory.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Images. */}}
{{- define "understory.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "understory.sensorImage" -}}
{{- printf "%s:%s" .Values.sensor.image.repository (default .Chart.AppVersion .Values.sensor.image.tag) }}
{{- end }}

{{/* An image from a {repository, tag} block. */}}
{{- define "understory.thirdPartyImage" -}}
{{- printf "%s:%s" .repository (toString .tag) }}
{{- end }}

{{/*
Validation of the values the other templates rely on, included once (validate.yaml) so that
`helm template` and `helm install` stop with a clear message instead of rendering something broken.
*/}}
{{- define "understory.validate" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" (toString .Values.clusterName)) }}
{{- fail "cannot render the chart: clusterName must be set to a DNS label (a-z, 0-9, '-'), as in the UI's install command" }}
{{- end }}
{{- if not (has .Values.clickhouse.mode (list "standalone" "replicated" "external")) }}
{{- fail (printf "cannot render the chart: clickhouse.mode must be standalone, replicated or external, got %q" (toString .Values.clickhouse.mode)) }}
{{- end }}
{{- if not (has .Values.victoriaMetrics.mode (list "single" "cluster" "external")) }}
{{- fail (printf "cannot render the chart: victoriaMetrics.mode must be single, cluster or external, got %q" (toString .Values.victoriaMetrics.mode)) }}
{{- end }}
{{- if and (eq .Values.clickhouse.mode "external") (not .Values.clickhouse.external.url) }}
{{- fail "cannot render the chart: clickhouse.mode is external but clickhouse.external.url is empty" }}
{{- end }}
{{- if and (eq .Values.victoriaMetrics.mode "external") (or (not .Values.victoriaMetrics.external.writeUrl) (not .Values.victoriaMetrics.external.readUrl)) }}
{{- fail "cannot render the chart: victoriaMetrics.mode is external but victoriaMetrics.external.writeUrl or readUrl is empty" }}
{{- end }}
{{- if and (eq .Values.clickhouse.mode "replicated") (eq (toString .Values.clickhouse.database) "default") }}
{{- fail "cannot render the chart: clickhouse.mode replicated needs its own database (e.g. clickhouse.database=understory): the built-in default database is not Replicated" }}
{{- end }}
{{- if and .Values.alerting.enabled (not (regexMatch "^[0-9]+[smh]$" (toString .Values.alerting.vmalert.evaluationInterval))) }}
{{- fail (printf "cannot render the chart: alerting.vmalert.evaluationInterval must look like 30s, 1m or 1h, got %q" (toString .Values.alerting.vmalert.evaluationInterval)) }}
{{- end }}
{{- if and (eq .Values.clickhouse.mode "replicated") (eq (mod (int .Values.clickhouse.keeper.replicas) 2) 0) }}
{{- fail "cannot render the chart: clickhouse.keeper.replicas must be odd (a Raft quorum)" }}
{{- end }}
{{- if and (eq .Values.victoriaMetrics.mode "cluster") (gt (int .Values.victoriaMetrics.cluster.replicationFactor) (int .Values.victoriaMetrics.cluster.vmstorage.replicas)) }}
{{- fail "cannot render the chart: victoriaMetrics.cluster.replicationFactor must not exceed vmstorage.replicas" }}
{{- end }}
{{- range $kind, $days := dict "tracesDays" .Values.retention.tracesDays "logsDays" .Values.retention.logsDays "eventsDays" .Values.retention.eventsDays }}
{{- if or (not (regexMatch "^[0-9]+$" (toString $days))) (lt (int $days) 1) (gt (int $days) 36500) }}
{{- fail (printf "cannot render the chart: retention.%s must be a whole number of days in 1..36500, got %v" $kind $days) }}
{{- end }}
{{- end }}
{{- if not (regexMatch "^[0-9]+[hdwy]$" (toString .Values.retention.metrics)) }}
{{- fail (printf "cannot render the chart: retention.metrics must look like 30d, 12w or 1y, got %q" (toString .Values.retention.metrics)) }}
{{- end }}
{{- if not (regexMatch "^[a-z_][a-z0-9_]{0,62}$" (toString .Values.clickhouse.user)) }}
{{- fail (printf "cannot render the chart: clickhouse.user must match [a-z_][a-z0-9_]*, got %q" (toString .Values.clickhouse.user)) }}
{{- end }}
{{- if not (regexMatch "^[a-z_][a-z0-9_]{0,62}$" (toString .Values.clickhouse.database)) }}
{{- fail (printf "cannot render the chart: clickhouse.database must match [a-z_][a-z0-9_]*, got %q" (toString .Values.clickhouse.database)) }}
{{- end }}
{{- if and .Values.portal.enabled (not .Values.portal.existingSecret) (not .Values.portal.installToken) }}
{{- fail "cannot render the chart: portal.installToken (or portal.existingSecret) is required: copy the install command from the Understory UI" }}
{{- end }}
{{- if and .Values.portal.enabled (not (regexMatch "^https?://[^/?#]+$" (toString .Values.portal.edgeUrl))) }}
{{- fail (printf "cannot render the chart: portal.edgeUrl must be the edge's origin like https://app.example.com, got %q" (toString .Values.portal.edgeUrl)) }}
{{- end }}
{{- end }}

{{/* ClickHouse endpoints and credentials, whatever the mode. */}}
{{- define "understory.clickhouse.host" -}}
{{- include "understory.componentName" (dict "root" . "component" "clickhouse") }}
{{- end }}

{{/* HTTP URL of the server (@clickhouse/client), without a database. */}}
{{- define "understory.clickhouse.serverUrl" -}}
{{- if eq .Values.clickhouse.mode "external" }}
{{- trimSuffix "/" .Values.clickhouse.external.url }}
{{- else }}
{{- printf "http://%s:8123" (include "understory.clickhouse.host" .) }}
{{- end }}
{{- end }}

{{/*
The same URL with the database as its path, for commands that take no database flag (portal, k8s-watcher):
@clickhouse/client reads the database from http[s]://host:port/<database>. Left off for "default".
*/}}
{{- define "understory.clickhouse.url" -}}
{{- include "understory.clickhouse.serverUrl" . }}
{{- if ne .Values.clickhouse.database "default" }}/{{ .Values.clickhouse.database }}{{ end }}
{{- end }}

{{/* Endpoint of the collector's ClickHouse exporter (native protocol in-cluster). */}}
{{- define "understory.clickhouse.collectorEndpoint" -}}
{{- if eq .Values.clickhouse.mode "external" }}
{{- default .Values.clickhouse.external.url .Values.clickhouse.external.collectorEndpoint }}
{{- else }}
{{- printf "tcp://%s:9000?dial_timeout=10s" (include "understory.clickhouse.host" .) }}
{{- end }}
{{- end }}

{{- define "understory.clickhouse.secretName" -}}
{{- default (include "understory.componentName" (dict "root" . "component" "clickhouse")) .Values.clickhouse.existingSecret }}
{{- end }}

{{- define "understory.clickhouse.secretKey" -}}
{{- if .Values.clickhouse.existingSecret }}{{ .Values.clickhouse.existingSecretKey }}{{ else }}password{{ end }}
{{- end }}

{{/*
ClickHouse credentials for our components: the user as a flag, the password as a file from the Secret (never
on the command line, never in the environment where crash reports and `kubectl describe` show it).
*/}}
{{- define "understory.clickhouse.args" -}}
- --clickhouse-user={{ .Values.clickhouse.user }}
- --clickhouse-password-file=/var/run/secrets/understory/clickhouse/password
{{- end }}

{{- define "understory.clickhouse.volumeMount" -}}
- name: clickhouse-password
  mountPath: /var/run/secrets/understory/clickhouse
  readOnly: true
{{- end }}

{{- define "understory.clickhouse.volume" -}}
- name: clickhouse-password
  secret:
    secretName: {{ include "understory.clickhouse.secretName" . }}
    items:
      - key: {{ include "understory.clickhouse.secretKey" . }}
        path: password
{{- end }}

{{/*
VictoriaMetrics base URLs: writes go to <writeBase>/api/v1/write (ingester, vmagent), PromQL to
<readBase>/api/v1/... (portal). The cluster version adds /insert/0/prometheus and /select/0/prometheus.
*/}}
{{- define "understory.vm.writeBase" -}}
{{- if eq .Values.victoriaMetrics.mode "external" }}
{{- trimSuffix "/" .Values.victoriaMetrics.external.writeUrl }}
{{- else if eq .Values.victoriaMetrics.mode "cluster" }}
{{- printf "http://%s:8480/insert/0/prometheus" (include "understory.componentName" (dict "root" . "component" "vminsert")) }}
{{- else }}
{{- printf "http://%s:8428" (include "understory.componentName" (dict "root" . "component" "victoria-metrics")) }}
{{- end }}
{{- end }}

{{- define "understory.vm.readUrl" -}}
{{- if eq .Values.victoriaMetrics.mode "external" }}
{{- trimSuffix "/" .Values.victoriaMetrics.external.readUrl }}
{{- else if eq .Values.victoriaMetrics.mode "cluster" }}
{{- printf "http://%s:8481/select/0/prometheus" (include "understory.componentName" (dict "root" . "component" "vmselect")) }}
{{- else }}
{{- printf "http://%s:8428" (include "understory.componentName" (dict "root" . "component" "victoria-metrics")) }}
{{- end }}
{{- end }}

{{/* Ingest token Secret (sensors -> metrics-ingester and OpenTelemetry Collector). */}}
{{- define "understory.ingestToken.secretName" -}}
{{- default (include "understory.componentName" (dict "root" . "component" "ingest-token")) .Values.ingestToken.existingSecret }}
{{- end }}

{{- define "understory.ingestToken.secretKey" -}}
{{- if .Values.ingestToken.existingSecret }}{{ .Values.ingestToken.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{/* Whether anything in the chart checks the ingest token. */}}
{{- define "understory.ingestToken.used" -}}
{{- if or .Values.ingester.enabled (and .Values.otelCollector.enabled .Values.ingestToken.otelCollector) }}true{{ end }}
{{- end }}

{{/* Sensor API token Secret (shared by the k8s-watcher and the sensors). */}}
{{- define "understory.sensorApiToken.secretName" -}}
{{- default (include "understory.componentName" (dict "root" . "component" "sensor-api-token")) .Values.k8sWatcher.sensorApiToken.existingSecret }}
{{- end }}

{{- define "understory.sensorApiToken.secretKey" -}}
{{- if .Values.k8sWatcher.sensorApiToken.existingSecret }}{{ .Values.k8sWatcher.sensorApiToken.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{/*
A random secret value kept across upgrades: reuse the key of the live Secret when Helm can look it up
(install/upgrade against a cluster), else generate one (first install, or `helm template`).
Call with (dict "root" $ "name" "<secret name>" "key" "<key>").
*/}}
{{- define "understory.persistentRandom" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- randAlphaNum 40 | b64enc }}
{{- end }}
{{- end }}

{{/* Key file of the monitors' target secrets (shared by the portal and the evaluator). */}}
{{- define "understory.monitorsKey.secretName" -}}
{{- default (include "understory.componentName" (dict "root" . "component" "monitors-secrets-key")) .Values.alerting.secretsKey.existingSecret }}
{{- end }}

{{- define "understory.monitorsKey.secretKey" -}}
{{- if .Values.alerting.secretsKey.existingSecret }}{{ .Values.alerting.secretsKey.existingSecretKey }}{{ else }}key{{ end }}
{{- end }}

{{/* Flag, mount and volume giving a container the key file at /var/run/secrets/understory/monitors/key. */}}
{{- define "understory.monitorsKey.arg" -}}
- --secrets-key-file=/var/run/secrets/understory/monitors/key
{{- end }}

{{- define "understory.monitorsKey.volumeMount" -}}
- name: monitors-secrets-key
  mountPath: /var/run/secrets/understory/monitors
  readOnly: true
{{- end }}

{{- define "understory.monitorsKey.volume" -}}
- name: monitors-secrets-key
  secret:
    secretName: {{ include "understory.monitorsKey.secretName" . }}
    items:
      - key: {{ include "understory.monitorsKey.secretKey" . }}
        path: key
{{- end }}

{{/* Common pod pieces for our non-root services. */}}
{{- define "understory.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "understory.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}

{{- define "understory.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* Scheduling block; call with a component's values (nodeSelector, tolerations, affinity). */}}
{{- define "understory.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Pod annotations that let vmagent find a /metrics endpoint. */}}
{{- define "understory.scrapeAnnotations" -}}
understory.dev/scrape: "true"
understory.dev/metrics-port: {{ . | quote }}
{{- end }}

{{/* vmalert's HTTP port in the monitors pod (its API for the evaluator, /metrics for vmagent, /health). */}}
{{- define "understory.monitors.vmalertPort" -}}8880{{- end }}

{{/*
A second /metrics in the same pod (a sidecar's: vmalert beside the evaluator), scraped by vmagent's
`understory-sidecars` job with a `container` label. Use with understory.scrapeAnnotations.
*/}}
{{- define "understory.sidecarScrapeAnnotation" -}}
understory.dev/sidecar-metrics-port: {{ . | quote }}
{{- end }}

{{/* VictoriaMetrics images run as nobody: nothing of theirs needs root. */}}
{{- define "understory.vm.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
fsGroup: 65534
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* vmstorage node list for vminsert (port 8400) or vmselect (port 8401); call with (dict "root" $ "port" 8400). */}}
{{- define "understory.vm.storageNodes" -}}
{{- $name := include "understory.componentName" (dict "root" .root "component" "vmstorage") }}
{{- $nodes := list }}
{{- range $i := until (int .root.Values.victoriaMetrics.cluster.vmstorage.replicas) }}
{{- $nodes = append $nodes (printf "%s-%d.%s-headless.%s.svc:%d" $name $i $name $.root.Release.Namespace (int $.port)) }}
{{- end }}
{{- join "," $nodes }}
{{- end }}

{{/*
A NetworkPolicy that selects one data store's pods and admits only the listed components of this release.
Everything else is denied (a pod selected by an Ingress policy accepts only what some policy allows).
Call with (dict "root" $ "component" "clickhouse" "rules" (list (dict "from" (list "portal") "ports" (list 8123)))).
*/}}
{{- define "understory.storeNetworkPolicy" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "understory.componentName" (dict "root" .root "component" .component) }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "understory.labels" (dict "root" .root "component" .component) | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "understory.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    {{- range .rules }}
    - from:
        - podSelector:
            matchExpressions:
              - key: app.kubernetes.io/instance
                operator: In
                values: [{{ $.root.Release.Name | quote }}]
              - key: app.kubernetes.io/component
                operator: In
                values: [{{ join ", " .from }}]
      ports:
        {{- range .ports }}
        - protocol: TCP
          port: {{ . }}
        {{- end }}
    {{- end }}
{{- end }}
