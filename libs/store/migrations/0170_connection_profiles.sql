-- Connection profiles (issue 14): the other OpAMP connection settings a group
-- of agents gets, chosen like assignments (a label selector and a priority;
-- the highest priority matching profile wins, the first name among equals).
-- `spec` is the validated settings as the API shows them (libs/desired-state
-- core/connection-profile.ts): the OpAMP part (endpoint, heartbeat interval,
-- extra headers, proxy, TLS) and other_connections by name.
CREATE TABLE connection_profiles (
  tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name       text NOT NULL,
  -- Canonical label selector text (libs/desired-state selector.ts).
  selector   text NOT NULL,
  priority   integer NOT NULL DEFAULT 0,
  spec       jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- The content hash last offered carrying this credential: agents that do not
-- report their connection settings status (0x8000) are sent an offer only
-- when the current one differs from it.
ALTER TABLE agent_credentials
  ADD COLUMN offered_hash bytea;
