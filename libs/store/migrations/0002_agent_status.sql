-- status-ingest: the rest of an agent's reported state, liveness, sequence
-- tracking and instance-uid moves; content-addressed tables for effective
-- config bodies and available-component maps, each stored once per hash and
-- shared by every agent that reports it.

CREATE TABLE effective_configs (
  -- configHash() of the AgentConfigMap (libs/protocol config-hash.ts).
  hash        bytea PRIMARY KEY,
  -- The AgentConfigMap exactly as reported, protobuf-encoded (lossless, any content type).
  config_map  bytea NOT NULL,
  size_bytes  integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE available_components (
  -- AvailableComponents.hash as the agent computed it.
  hash        bytea PRIMARY KEY,
  -- The components map (ComponentDetails tree) as JSON.
  components  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE agents
  -- Whether the agent ever reported an AgentDescription (else ReportFullState is asked once).
  ADD COLUMN description_reported       boolean NOT NULL DEFAULT false,
  ADD COLUMN package_statuses           jsonb,
  -- PackageStatuses.server_provided_all_packages_hash.
  ADD COLUMN packages_hash              bytea,
  ADD COLUMN custom_capabilities        jsonb NOT NULL DEFAULT '[]'::jsonb,
  ADD COLUMN available_components_hash  bytea,
  ADD COLUMN connection_settings_hash   bytea,
  ADD COLUMN connection_settings_status smallint NOT NULL DEFAULT 0,
  ADD COLUMN connection_settings_error  text,
  -- Epoch of the connection that sent last_sequence_num (epoch is the highest seen).
  ADD COLUMN seq_epoch                  bigint NOT NULL DEFAULT 0,
  -- A ReportFullState was asked and no description has arrived since.
  ADD COLUMN full_state_requested       boolean NOT NULL DEFAULT false,
  -- ReportAvailableComponents was asked for this hash (asked once per hash).
  ADD COLUMN components_requested_hash  bytea,
  -- Silent for longer than the stale threshold (still counted connected).
  ADD COLUMN stale                      boolean NOT NULL DEFAULT false,
  -- fleet.v1.DisconnectReason of the last disconnect; 100 = liveness timeout.
  ADD COLUMN disconnect_reason          smallint,
  ADD COLUMN client_identity            text,
  -- RequestInstanceUid moved this record to that uid; the row stays as a tombstone.
  ADD COLUMN replaced_by                bytea,
  -- Duplicate live connection that was told to take a new uid (told once).
  ADD COLUMN reassigned_connection_id   text;

-- Content-addressed rows are shared; these find their users (and garbage).
CREATE INDEX agents_effective_config_idx ON agents (effective_config_hash) WHERE effective_config_hash IS NOT NULL;
CREATE INDEX agents_available_components_idx ON agents (available_components_hash) WHERE available_components_hash IS NOT NULL;
