{{/*
Names. Kubernetes names are DNS labels of at most 63 characters; suffixed names truncate the base,
never the suffix, so that two objects can never end up with the same name.
*/}}
{{- define "initgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "initgate.fullname" -}}
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

{{/* `<fullname>-<suffix>` within 63 characters: (list $ "suffix"). */}}
{{- define "initgate.suffixed" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 }}
{{- $base := include "initgate.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{- define "initgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object: (list $ "component"). */}}
{{- define "initgate.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "initgate.chart" $root }}
{{ include "initgate.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: initgate
{{- end }}

{{/* Labels that select a component's pods: (list $ "component"). */}}
{{- define "initgate.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "initgate.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "initgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "initgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "initgate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The webhook Service's DNS names: what the serving certificate must cover. */}}
{{- define "initgate.dnsNames" -}}
{{- $service := include "initgate.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- list $service (printf "%s.%s" $service $ns) (printf "%s.%s.svc" $service $ns) (printf "%s.%s.svc.cluster.local" $service $ns) | toJson }}
{{- end }}

{{/* Name of the Secret holding the serving certificate, whatever the certificate mode. */}}
{{- define "initgate.tlsSecretName" -}}
{{- if eq .Values.certs.mode "secret" }}
{{- required "certs.secret.name: name the existing kubernetes.io/tls Secret (certs.mode=secret)" .Values.certs.secret.name }}
{{- else }}
{{- include "initgate.suffixed" (list . "tls") }}
{{- end }}
{{- end }}

{{/*
The helm-mode certificate, computed once per render and shared by the Secret and the webhook
configurations (genCA gives a new CA on every call). An existing Secret is kept while it covers the
Service's names and expires more than renewBeforeDays from now; expiry and names are recorded in
annotations because Sprig cannot parse a certificate. On renewal the previous CA, while still valid,
stays in the bundle: the API server trusts old and new certificates until every replica has reread
the Secret. Result: a dict with the Secret's base64 `data` and its `annotations`.
*/}}
{{- define "initgate.helmCertificate" -}}
{{- if not (hasKey .Values "__initgateCertificate") }}
{{- $name := include "initgate.tlsSecretName" . }}
{{- $hosts := include "initgate.dnsNames" . | fromJsonArray }}
{{- $hostList := join "," $hosts }}
{{- $now := now | unixEpoch | int64 }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name | default dict }}
{{- $notAfter := dig "metadata" "annotations" "initgate.io/not-after" "0" $existing | int64 }}
{{- $recordedHosts := dig "metadata" "annotations" "initgate.io/hosts" "" $existing }}
{{- $renewAt := add $now (mul .Values.certs.helm.renewBeforeDays 86400) }}
{{- $result := dict }}
{{- if and (gt $notAfter $renewAt) (eq $recordedHosts $hostList) (hasKey (default dict $existing.data) "tls.crt") }}
{{- $_ := set $result "data" $existing.data }}
{{- $_ := set $result "annotations" (dict "initgate.io/not-after" (toString $notAfter) "initgate.io/hosts" $hostList) }}
{{- else }}
{{- $days := int .Values.certs.helm.validityDays }}
{{- $ca := genCA (printf "%s-ca" (include "initgate.fullname" .)) $days }}
{{- $cert := genSignedCert (index $hosts 2) nil $hosts $days $ca }}
{{- $bundle := $ca.Cert }}
{{- if and (gt $notAfter $now) (hasKey (default dict $existing.data) "ca.crt") }}
{{- $previous := regexFind "(?s)-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----" (index $existing.data "ca.crt" | b64dec) }}
{{- if $previous }}
{{- $bundle = printf "%s%s\n" $bundle $previous }}
{{- end }}
{{- end }}
{{- $_ := set $result "data" (dict "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc) "ca.crt" ($bundle | b64enc)) }}
{{- $_ := set $result "annotations" (dict "initgate.io/not-after" (toString (add $now (mul $days 86400))) "initgate.io/hosts" $hostList) }}
{{- end }}
{{- $_ := set .Values "__initgateCertificate" $result }}
{{- end }}
{{- toJson (get .Values "__initgateCertificate") }}
{{- end }}

{{/* The caBundle of the webhook configurations (base64 of PEM), or nothing with cert-manager. */}}
{{- define "initgate.caBundle" -}}
{{- if eq .Values.certs.mode "helm" }}
{{- index (include "initgate.helmCertificate" . | fromJson).data "ca.crt" }}
{{- else if eq .Values.certs.mode "secret" }}
{{- $bundle := required "certs.secret.caBundle: give the CA that signed the Secret's certificate (certs.mode=secret)" .Values.certs.secret.caBundle | trim }}
{{- if hasPrefix "-----BEGIN" $bundle }}
{{- printf "%s\n" $bundle | b64enc }}
{{- else }}
{{- $bundle }}
{{- end }}
{{- end }}
{{- end }}

{{/* Annotations of the webhook configurations: cert-manager's CA injection in certManager mode. */}}
{{- define "initgate.webhookAnnotations" -}}
{{- if eq .Values.certs.mode "certManager" }}
cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "initgate.tlsSecretName" .) }}
{{- end }}
{{- end }}

{{/*
The namespaces of one mode: (dict "root" $ "mode" "enforce"|"warn"|"audit"), for the webhook entries
and the generated policies' bindings alike. A namespace goes to the mode of its `initgate.io/mode`
label; the default mode also takes namespaces without the label (or with an unknown value) by
excluding the other modes, since a label selector cannot say "In [m] or absent".
*/}}
{{- define "initgate.namespaceSelector" -}}
{{- $root := .root }}
{{- $v := $root.Values.webhooks }}
{{- $mode := .mode }}
{{- $others := without (list "enforce" "warn" "audit" "off") $mode -}}
matchExpressions:
  {{- if eq $v.defaultMode $mode }}
  - key: initgate.io/mode
    operator: NotIn
    values: {{ toJson $others }}
  {{- else }}
  - key: initgate.io/mode
    operator: In
    values: [{{ $mode }}]
  {{- end }}
  - key: initgate.io/ignore
    operator: DoesNotExist
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ concat (list $root.Release.Namespace "kube-system" "kube-node-lease") $v.excludeNamespaces | uniq | toJson }}
  {{- with $v.namespaceSelectorExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* One webhook entry per mode: (dict "root" $ "kind" "validate"|"mutate" "mode" "enforce"|"warn"|"audit"). */}}
{{- define "initgate.webhookEntry" -}}
{{- $root := .root }}
{{- $v := $root.Values.webhooks }}
{{- $mode := .mode }}
- name: {{ printf "%s.%s.initgate.io" $mode .kind }}
  admissionReviewVersions: [v1]
  sideEffects: None
  timeoutSeconds: {{ $v.timeoutSeconds }}
  failurePolicy: {{ index $v.failurePolicy $mode }}
  matchPolicy: Equivalent
  {{- if eq .kind "mutate" }}
  reinvocationPolicy: IfNeeded
  {{- end }}
  clientConfig:
    service:
      name: {{ include "initgate.fullname" $root }}
      namespace: {{ $root.Release.Namespace }}
      path: {{ printf "/%s/%s" .kind $mode }}
      port: 443
    {{- with include "initgate.caBundle" $root }}
    caBundle: {{ . }}
    {{- end }}
  namespaceSelector:
    {{- include "initgate.namespaceSelector" (dict "root" $root "mode" $mode) | nindent 4 }}
  {{- with $v.objectSelector }}
  objectSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.matchConditions }}
  matchConditions:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
      scope: Namespaced
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [UPDATE]
      resources: [pods/ephemeralcontainers]
      scope: Namespaced
    {{- if eq .kind "validate" }}
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [replicationcontrollers]
      scope: Namespaced
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments, statefulsets, daemonsets, replicasets]
      scope: Namespaced
    - apiGroups: [batch]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [jobs, cronjobs]
      scope: Namespaced
    {{- end }}
{{- end }}

{{/* Volume of the policy configuration, shared by the webhook and the audit pods. */}}
{{- define "initgate.configVolume" -}}
- name: config
  configMap:
    name: {{ include "initgate.suffixed" (list . "config") }}
    defaultMode: 0440
{{- end }}

{{/* A ServiceMonitor for one component's metrics port: (list $ "component" "name" honorLabels). */}}
{{- define "initgate.serviceMonitor" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ index . 2 }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "initgate.labels" (list $root $component) | nindent 4 }}
    {{- with $root.Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  namespaceSelector:
    matchNames: [{{ $root.Release.Namespace }}]
  selector:
    matchLabels:
      {{- include "initgate.selectorLabels" (list $root $component) | nindent 6 }}
  endpoints:
    - port: metrics
      scheme: http
      path: /metrics
      interval: {{ $root.Values.metrics.serviceMonitor.interval }}
      {{- if index . 3 }}
      honorLabels: true
      {{- end }}
{{- end }}
