-- config-service: desired state. Configurations with immutable, content-hashed
-- versions; assignments (label selector + priority); per-agent reconcile state
-- (desired and last sent hash); commands sent; API and agent tokens (hashes
-- only); the audit log; a per-tenant revision bumped by every desired-state
-- change so every replica notices it with one cheap read.

CREATE TABLE configurations (
  tenant_id      text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name           text NOT NULL,
  description    text NOT NULL DEFAULT '',
  -- 'otel_collector' (validated as a Collector configuration) or 'generic'.
  format         text NOT NULL CHECK (format IN ('otel_collector', 'generic')),
  latest_version integer NOT NULL CHECK (latest_version >= 1),
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- Immutable: rows are only inserted (and deleted with their configuration).
CREATE TABLE configuration_versions (
  tenant_id          text NOT NULL,
  configuration_name text NOT NULL,
  version            integer NOT NULL CHECK (version >= 1),
  -- { file name: { "body": text, "contentType": text } } as submitted (templates unrendered).
  files              jsonb NOT NULL,
  -- configHash() of the unrendered files (libs/protocol config-hash.ts); equals the
  -- remote-config hash agents report when the version uses no template variable.
  content_hash       bytea NOT NULL CHECK (octet_length(content_hash) = 32),
  templated          boolean NOT NULL,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, configuration_name, version),
  FOREIGN KEY (tenant_id, configuration_name) REFERENCES configurations (tenant_id, name) ON DELETE CASCADE
);

CREATE TABLE assignments (
  tenant_id          text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name               text NOT NULL,
  configuration_name text NOT NULL,
  -- NULL follows the configuration's latest version.
  pinned_version     integer,
  -- Canonical label selector text (libs/desired-state selector.ts).
  selector           text NOT NULL,
  priority           integer NOT NULL DEFAULT 0,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name),
  -- A configuration in use cannot be deleted.
  FOREIGN KEY (tenant_id, configuration_name) REFERENCES configurations (tenant_id, name) ON DELETE RESTRICT
);

CREATE INDEX assignments_configuration_idx ON assignments (tenant_id, configuration_name);

CREATE TABLE desired_state_revisions (
  tenant_id text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  revision  bigint NOT NULL
);

-- What the reconciler decided for each agent, and what it last sent.
CREATE TABLE agent_config_state (
  tenant_id             text NOT NULL,
  instance_uid          bytea NOT NULL CHECK (octet_length(instance_uid) = 16),
  configuration_name    text,
  configuration_version integer,
  -- configHash() of the configuration rendered for this agent; NULL = no config.
  desired_hash          bytea,
  -- Why the desired configuration is not sent (template error, missing component, capability).
  not_sent_reason       text,
  -- Last remote-config hash pushed to this agent (agents without ReportsRemoteConfig get a hash once).
  last_sent_hash        bytea,
  last_sent_at          timestamptz,
  updated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, instance_uid)
);

CREATE INDEX agent_config_state_configuration_idx ON agent_config_state (tenant_id, configuration_name);

-- Commands and custom messages sent through the API.
CREATE TABLE agent_commands (
  id           bigserial PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  instance_uid bytea NOT NULL,
  -- 'restart' or 'custom_message'.
  kind         text NOT NULL,
  capability   text,
  message_type text,
  data         bytea,
  -- 'published' (WebSocket) or 'pending' (plain HTTP or not connected).
  delivery     text NOT NULL,
  requested_by text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX agent_commands_agent_idx ON agent_commands (tenant_id, instance_uid, id);

-- Bearer tokens: 'admin' (platform API) and 'agent' (OpAMP connections). Only
-- the SHA-256 of a token is stored; the token itself is shown once, at creation.
CREATE TABLE api_tokens (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('admin', 'agent')),
  name        text NOT NULL DEFAULT '',
  token_hash  bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id, kind, created_at);

CREATE TABLE audit_log (
  id            bigserial PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- 'token:<id>' of the caller, or 'system'.
  actor         text NOT NULL,
  -- e.g. 'configuration.create', 'assignment.update', 'agent.restart'.
  action        text NOT NULL,
  resource_type text NOT NULL,
  resource_name text NOT NULL,
  before_hash   bytea,
  after_hash    bytea,
  details       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id DESC);
