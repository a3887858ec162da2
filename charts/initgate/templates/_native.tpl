{{/*
Helpers of the generated admission policies (native-*.yaml, written by deploy/generate.py from
webhook/native: do not edit those). What the configuration decides reaches them as Go template
expressions over `$config` (the chart's `config` merged over the configuration's defaults) and
`$native` (files/native.json, generated from the same Python models). Each helper computes what
its Python counterpart in webhook/native/literals.py computes, and the chart tests hold the
rendered objects equal to `initgate export`'s for the same configuration.
*/}}

{{/*
The effective configuration, as JSON: `config` over the defaults of the pydantic model `Config`.
Nested settings models (`exemptions`, `policies`, each policy, its `exemptions`, each rule of
`rules` and its `exemptions`) are merged key by key, as the service fills in a model's missing
keys; every other value (a list, a map such as `suggested`) replaces the default whole, as the
service reads it. Fails where the generated policies cannot stand for the webhook: mutating
policies below Kubernetes 1.36, and a rule no policy can be generated for on this cluster when
the validating webhook is off (nothing would judge it).
*/}}
{{- define "initgate.nativeConfig" -}}
{{- $native := .Files.Get "files/native.json" | fromJson }}
{{- if and .Values.nativePolicies.mutating (not (semverCompare ">=1.36.0-0" .Capabilities.KubeVersion.Version)) }}
{{- fail (printf "nativePolicies.mutating: MutatingAdmissionPolicies need Kubernetes 1.36 or later, and this cluster is %s; set it to false and keep webhooks.mutating.enabled" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- $config := $native.defaults }}
{{- include "initgate.nativeMerge" (dict "into" $config "from" .Values.config "models" $native.models) }}
{{- $rules := list }}
{{- range $config.rules }}
{{- $rule := deepCopy $native.rules.defaults }}
{{- include "initgate.nativeMerge" (dict "into" $rule "from" . "models" $native.rules.models) }}
{{- $rules = append $rules $rule }}
{{- if and $.Values.nativePolicies.validating (not $.Values.webhooks.validating.enabled) (not (include "initgate.nativeRuleVariant" (list $ $native $rule))) }}
{{- fail (printf "nativePolicies: %s; this cluster is %s and webhooks.validating.enabled is false, so nothing would judge it: enable the validating webhook, or change the rule" (printf $native.rules.unreadable $rule.id) $.Capabilities.KubeVersion.Version) }}
{{- end }}
{{- end }}
{{- $_ := set $config "rules" $rules }}
{{- toJson $config }}
{{- end }}

{{/*
The shape of a user rule's generated policy, as webhook/native/chart_rules.py names its variants:
its scope, `+message` with a messageExpression, `+volumes` when a container rule names `volumes`
(read as webhook/native/celtext.py reads it, with its patterns); "" when no policy can be
generated for it on this cluster (own_rules.unreadable). (list $ $native $rule)
*/}}
{{- define "initgate.nativeRuleVariant" -}}
{{- $native := index . 1 }}
{{- $rule := index . 2 }}
{{- $volumes := false }}
{{- if eq $rule.scope "container" }}
{{- range list $rule.expression $rule.messageExpression }}
{{- if regexMatch $native.rules.volumes (regexReplaceAll $native.rules.selected (regexReplaceAll $native.rules.ignored . " ") ".") }}
{{- $volumes = true }}
{{- end }}
{{- end }}
{{- end }}
{{- if or (not $volumes) (semverCompare $native.rules.volumesFrom (index . 0).Capabilities.KubeVersion.Version) }}
{{- $rule.scope }}{{ if $rule.messageExpression }}+message{{ end }}{{ if $volumes }}+volumes{{ end }}
{{- end }}
{{- end }}

{{/* A user rule's message (else its description) on one line, as own_rules flattens it. */}}
{{- define "initgate.nativeRuleText" -}}
{{- $native := index . 0 }}
{{- $rule := index . 1 }}
{{- regexReplaceAll $native.rules.blanks (default $rule.description $rule.message) " " | trimAll " " }}
{{- end }}

{{/*
A generated object's name, `<fullname>-<suffix>` (list $ "suffix"), as `initgate export` names it
with `--prefix`: never cut (an admission policy's name may be 253 characters long), so that a
long rule id keeps its name whole.
*/}}
{{- define "initgate.nativeName" -}}
{{- printf "%s-%s" (include "initgate.fullname" (index . 0)) (index . 1) }}
{{- end }}

{{/* Merge `from` into `into` (in place): recursively where `models` has the key. */}}
{{- define "initgate.nativeMerge" -}}
{{- range $key, $value := .from }}
{{- $current := get $.into $key }}
{{- $model := get $.models $key }}
{{- if and (kindIs "string" $model) (kindIs "map" $value) (kindIs "map" $current) }}
{{- range $entry, $setting := $value }}
{{- if kindIs "invalid" $setting }}
{{- $_ := unset $current $entry }}
{{- else }}
{{- $_ := set $current $entry $setting }}
{{- end }}
{{- end }}
{{- else if and (hasKey $.models $key) (kindIs "map" $value) (kindIs "map" $current) }}
{{- include "initgate.nativeMerge" (dict "into" $current "from" $value "models" $model) }}
{{- else }}
{{- $_ := set $.into $key $value }}
{{- end }}
{{- end }}
{{- end }}

{{/* "ended" when an exemption's `expires` (an RFC 3339 date, UTC, or time) has passed. */}}
{{- define "initgate.nativeEnded" -}}
{{- $at := upper . | replace " " "T" }}
{{- if not (contains "T" $at) }}
{{- $at = printf "%sT00:00:00Z" $at }}
{{- end }}
{{- if not ((now).Before (mustToDate "2006-01-02T15:04:05Z07:00" $at)) }}ended{{ end }}
{{- end }}

{{/*
One anchored RE2 expression matching any of a list of exemption entries (globs, or objects with
a `namespace`, `user` or `group` glob and maybe `expires`), "" for none; ended entries are left
out. Only `*` and `?` are special, as literals.glob_regex writes them.
*/}}
{{- define "initgate.nativeGlobs" -}}
{{- $regexes := list }}
{{- range . }}
{{- $glob := . }}
{{- if not (kindIs "string" .) }}
{{- $glob = coalesce (get . "namespace") (get . "user") (get . "group") }}
{{- if and (get . "expires") (include "initgate.nativeEnded" (get . "expires")) }}
{{- $glob = "" }}
{{- end }}
{{- end }}
{{- if $glob }}
{{- $regexes = append $regexes (regexQuoteMeta $glob | replace "\\*" ".*" | replace "\\?" ".") }}
{{- end }}
{{- end }}
{{- if $regexes }}^(?:{{ join "|" $regexes }})${{ end }}
{{- end }}

{{/*
A policy's image exemptions as literals.images() writes them, as JSON: (list $config $native
$settings "policy-id" "renamed keys as a JSON list of [old, new]"), where $settings are the
policy's (or a user rule's) settings in $config. The global ones, the policy's own, then the
presets switched on; ended ones and those with an empty `allow` (they lift nothing) left out.
*/}}
{{- define "initgate.nativeImages" -}}
{{- $config := index . 0 }}
{{- $settings := index . 2 }}
{{- $policy := index . 3 }}
{{- $renamed := index . 4 | fromJsonArray }}
{{- $listed := concat (dig "exemptions" "images" list $config) (dig "exemptions" "images" list $settings) }}
{{- $switches := get $settings "presets" | default dict }}
{{- range dig "presets" $policy list (index . 1) }}
{{- if dig .name true $switches }}
{{- $listed = concat $listed .images }}
{{- end }}
{{- end }}
{{- $found := list }}
{{- range $listed }}
{{- $allow := get . "allow" }}
{{- $ended := and (get . "expires") (include "initgate.nativeEnded" (get . "expires")) }}
{{- if not (or $ended (and (kindIs "slice" $allow) (empty $allow))) }}
{{- $allowed := "" }}
{{- if kindIs "slice" $allow }}
{{- $keys := $allow }}
{{- range $key := $allow }}
{{- range $renamed }}
{{- $old := index . 0 }}
{{- if or (eq $key $old) (hasPrefix (printf "%s:" $old) $key) }}
{{- $keys = append $keys (printf "%s%s" (index . 1) (trimPrefix $old $key)) }}
{{- end }}
{{- end }}
{{- end }}
{{- $allowed = include "initgate.nativeGlobs" $keys }}
{{- end }}
{{- $found = append $found (dict
  "image" (include "initgate.nativeGlobs" (list .image))
  "allow" $allowed
  "namespaces" (include "initgate.nativeGlobs" (get . "namespaces" | default list))
  "exceptHostNetwork" (ternary "true" "false" (eq true (get . "exceptHostNetwork" | default false)))) }}
{{- end }}
{{- end }}
{{- toJson $found }}
{{- end }}

{{/*
init-privileged's allowedCapabilities as the webhook's settings hold them, as JSON: each name
upper case, without `CAP_` (policies.init_privileged.normalise_capability); null when unset.
*/}}
{{- define "initgate.nativeCapabilities" -}}
{{- if kindIs "slice" . }}
{{- $found := list }}
{{- range . }}
{{- $found = append $found (upper . | trimPrefix "CAP_") }}
{{- end }}
{{- toJson $found }}
{{- else }}null{{ end }}
{{- end }}
