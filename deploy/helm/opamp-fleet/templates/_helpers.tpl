{{/* Names, labels and the pieces every component's pod shares. */}}

{{- define "opamp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opamp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Component name: (dict "root" $ "component" "gateway") */}}
{{- define "opamp.componentName" -}}
{{- printf "%s-%s" (include "opamp.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "opamp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opamp.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "opamp.labels" -}}
{{ include "opamp.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "opamp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "opamp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "opamp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "opamp.secretName" -}}
{{- default (include "opamp.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Fails the render on values the apps would refuse at start, so a bad install stops here. */}}
{{- define "opamp.validate" -}}
{{- if not .Values.kafka.brokers -}}
{{- fail "kafka.brokers is required: the bootstrap brokers (host:port) of your Kafka" -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.postgresql.url -}}{{- fail "postgresql.url is required (or secrets.existingSecret)" -}}{{- end -}}
{{- if not .Values.redis.url -}}{{- fail "redis.url is required (or secrets.existingSecret)" -}}{{- end -}}
{{- end -}}
{{- if lt (int .Values.gateway.replicas) 2 -}}
{{- fail "gateway.replicas must be at least 2: one gateway is a single point of failure for every agent" -}}
{{- end -}}
{{- $ci := .Values.gateway.clientIdentity -}}
{{- if and $ci.fingerprintHeader $ci.certificateHeader -}}
{{- fail "gateway.clientIdentity: set fingerprintHeader or certificateHeader, not both" -}}
{{- end -}}
{{- $mtls := .Values.gateway.ingress.clientCertificates -}}
{{- if and .Values.gateway.ingress.enabled $mtls.enabled -}}
{{- if not $mtls.caSecret -}}{{- fail "gateway.ingress.clientCertificates.caSecret is required: the Secret with ca.crt (and ca.crl) of the CAs whose agents are accepted" -}}{{- end -}}
{{- if not .Values.gateway.ingress.tlsSecretName -}}{{- fail "gateway.ingress.clientCertificates needs gateway.ingress.tlsSecretName: client certificates are verified in the TLS handshake" -}}{{- end -}}
{{- end -}}
{{- $eff := include "opamp.clientIdentity" . | fromYaml -}}
{{- if and (or $eff.fingerprintHeader $eff.certificateHeader) (not $eff.trustedProxies) -}}
{{- fail "gateway.clientIdentity.trustedProxies is required with a client certificate header: the addresses or CIDR ranges of the proxies that verify certificates (else the app believes only 127.0.0.1)" -}}
{{- end -}}
{{- $k := .Values.kafka -}}
{{- if and $k.tls.caSecret.name (not $k.tls.enabled) -}}
{{- fail "kafka.tls.caSecret needs kafka.tls.enabled=true" -}}
{{- end -}}
{{- if $k.sasl.mechanism -}}
{{- if not (has $k.sasl.mechanism (list "plain" "scram-sha-256" "scram-sha-512")) -}}
{{- fail (printf "kafka.sasl.mechanism must be plain, scram-sha-256 or scram-sha-512 (got %q)" $k.sasl.mechanism) -}}
{{- end -}}
{{- if not $k.sasl.username -}}{{- fail "kafka.sasl.username is required with kafka.sasl.mechanism" -}}{{- end -}}
{{- if and (not $k.sasl.password) (not $k.sasl.passwordSecret.name) (not .Values.secrets.existingSecret) -}}
{{- fail "kafka.sasl needs a password: kafka.sasl.password, kafka.sasl.passwordSecret.name or secrets.existingSecret" -}}
{{- end -}}
{{- if and $k.sasl.password (or $k.sasl.passwordSecret.name .Values.secrets.existingSecret) -}}
{{- fail "kafka.sasl.password is ignored with kafka.sasl.passwordSecret.name or secrets.existingSecret: put the password in that Secret" -}}
{{- end -}}
{{- else if or $k.sasl.username $k.sasl.password $k.sasl.passwordSecret.name -}}
{{- fail "kafka.sasl.username/password need kafka.sasl.mechanism (plain, scram-sha-256 or scram-sha-512)" -}}
{{- end -}}
{{- $grace := include "opamp.gatewayGraceSeconds" . | int -}}
{{- $needed := add .Values.gateway.preStopSleepSeconds .Values.gateway.drainWindowSeconds -}}
{{- if le $grace (int $needed) -}}
{{- fail (printf "gateway.terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + drainWindowSeconds (%d): the kubelet would kill gateways mid-drain" $grace (int $needed)) -}}
{{- end -}}
{{- end -}}

{{/*
The gateway's client identity settings: gateway.clientIdentity, with the
headers ingress-nginx sets when the Ingress verifies client certificates.
*/}}
{{- define "opamp.clientIdentity" -}}
{{- $ci := deepCopy .Values.gateway.clientIdentity -}}
{{- $i := .Values.gateway.ingress -}}
{{- if and $i.enabled $i.clientCertificates.enabled -}}
{{- if not (or $ci.fingerprintHeader $ci.certificateHeader) -}}{{- $_ := set $ci "certificateHeader" "ssl-client-cert" -}}{{- end -}}
{{- if not $ci.header -}}{{- $_ := set $ci "header" "ssl-client-subject-dn" -}}{{- end -}}
{{- end -}}
{{- toYaml $ci -}}
{{- end -}}

{{- define "opamp.gatewayGraceSeconds" -}}
{{- if .Values.gateway.terminationGracePeriodSeconds -}}
{{- .Values.gateway.terminationGracePeriodSeconds -}}
{{- else -}}
{{- add .Values.gateway.preStopSleepSeconds .Values.gateway.drainWindowSeconds 15 -}}
{{- end -}}
{{- end -}}

{{/* A secret key as an env var: (dict "root" $ "name" "OPAMP_X" "key" "k" "optional" true) */}}
{{- define "opamp.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "opamp.secretName" .root }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{- define "opamp.kafkaEnv" -}}
- name: OPAMP_KAFKA_BROKERS
  value: {{ join "," .Values.kafka.brokers | quote }}
{{- $k := .Values.kafka }}
{{- if $k.tls.enabled }}
- name: OPAMP_KAFKA_TLS
  value: "true"
{{- if $k.tls.caSecret.name }}
- name: OPAMP_KAFKA_TLS_CA_FILE
  value: /etc/opamp/kafka-ca/{{ $k.tls.caSecret.key }}
{{- end }}
{{- end }}
{{- if $k.sasl.mechanism }}
- name: OPAMP_KAFKA_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: OPAMP_KAFKA_SASL_USERNAME
  value: {{ $k.sasl.username | quote }}
{{- /* a file, not an env var: the password stays out of the pod spec and `env` dumps */}}
- name: OPAMP_KAFKA_SASL_PASSWORD_FILE
  value: /etc/opamp/kafka-sasl/password
{{- end }}
{{- end -}}

{{/* The Secret holding the Kafka SASL password: its own, or the release's. */}}
{{- define "opamp.kafkaPasswordSecret" -}}
{{- default (include "opamp.secretName" .) .Values.kafka.sasl.passwordSecret.name -}}
{{- end -}}

{{/* Volumes for Kafka's CA and SASL password (the apps that talk to Kafka). */}}
{{- define "opamp.kafkaVolumes" -}}
{{- $k := .Values.kafka }}
{{- if and $k.tls.enabled $k.tls.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ $k.tls.caSecret.name }}
    items:
      - key: {{ $k.tls.caSecret.key }}
        path: {{ $k.tls.caSecret.key }}
{{- end }}
{{- if $k.sasl.mechanism }}
- name: kafka-sasl
  secret:
    secretName: {{ include "opamp.kafkaPasswordSecret" . }}
    items:
      - key: {{ default .Values.secrets.keys.kafkaSaslPassword $k.sasl.passwordSecret.key }}
        path: password
{{- end }}
{{- end -}}

{{- define "opamp.kafkaVolumeMounts" -}}
{{- $k := .Values.kafka }}
{{- if and $k.tls.enabled $k.tls.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/opamp/kafka-ca
  readOnly: true
{{- end }}
{{- if $k.sasl.mechanism }}
- name: kafka-sasl
  mountPath: /etc/opamp/kafka-sasl
  readOnly: true
{{- end }}
{{- end -}}

{{- define "opamp.redisEnv" -}}
{{ include "opamp.secretEnv" (dict "root" . "name" "OPAMP_REDIS_URL" "key" .Values.secrets.keys.redisUrl) }}
{{- end -}}

{{- define "opamp.databaseEnv" -}}
{{ include "opamp.secretEnv" (dict "root" . "name" "OPAMP_DATABASE_URL" "key" .Values.secrets.keys.databaseUrl) }}
{{- end -}}

{{/* NODE_EXTRA_CA_CERTS for a private CA (Redis TLS, PostgreSQL TLS). */}}
{{- define "opamp.caEnv" -}}
{{- if .Values.extraCA.secretName }}
- name: NODE_EXTRA_CA_CERTS
  value: /etc/opamp/ca/{{ .Values.extraCA.key }}
{{- end }}
{{- end -}}

{{/* A component's `env` map, sorted, values as strings. */}}
{{- define "opamp.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Volumes every pod has: /tmp (read-only root filesystem) and the CA bundle. */}}
{{- define "opamp.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.extraCA.secretName }}
- name: extra-ca
  secret:
    secretName: {{ .Values.extraCA.secretName }}
{{- end }}
{{- end -}}

{{- define "opamp.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.extraCA.secretName }}
- name: extra-ca
  mountPath: /etc/opamp/ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* What every pod spec starts with. */}}
{{- define "opamp.podCommon" -}}
serviceAccountName: {{ include "opamp.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Pod annotations: a changed Secret made by the chart rolls the pods. */}}
{{- define "opamp.podAnnotations" -}}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
