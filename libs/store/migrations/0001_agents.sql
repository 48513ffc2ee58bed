-- Tenants and the agents table: one row per (tenant, instance_uid), the merged
-- state of an agent as status-ingest knows it.

CREATE TABLE tenants (
  id         text PRIMARY KEY,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
  tenant_id                  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  instance_uid               bytea NOT NULL CHECK (octet_length(instance_uid) = 16),
  -- Latest non-zero AgentCapabilities mask reported.
  capabilities               bigint NOT NULL DEFAULT 0,
  identifying_attributes     jsonb NOT NULL DEFAULT '{}'::jsonb,
  non_identifying_attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Flattened attributes (string values) that label selectors query.
  labels                     jsonb NOT NULL DEFAULT '{}'::jsonb,
  health                     jsonb,
  healthy                    boolean,
  effective_config_hash      bytea,
  remote_config_hash         bytea,
  remote_config_status       smallint NOT NULL DEFAULT 0,
  remote_config_error        text,
  -- Sequence tracking across connections, and the fencing epoch of the last write.
  last_sequence_num          bigint,
  epoch                      bigint NOT NULL DEFAULT 0,
  connected                  boolean NOT NULL DEFAULT false,
  gateway_id                 text,
  connection_id              text,
  transport                  smallint,
  connected_since            timestamptz,
  last_seen_at               timestamptz,
  record_version             bigint NOT NULL DEFAULT 0,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, instance_uid)
);

-- Label selectors: containment queries (labels @> '{"env":"prod"}').
CREATE INDEX agents_labels_idx ON agents USING gin (labels jsonb_path_ops);
-- Fleet views filter by connection state within a tenant.
CREATE INDEX agents_connected_idx ON agents (tenant_id, connected);
