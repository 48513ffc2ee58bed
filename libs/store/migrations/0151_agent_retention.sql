-- Agent lifecycle: a per-tenant retention of disconnected agents. An agent
-- that has not been connected for agent_retention_days is removed by the
-- retention sweep of status-ingest (libs/ingest agent-retention.sweeper.ts),
-- with what the server holds for it (libs/store agent-records.ts); the audit
-- log keeps its history. 0 keeps agents forever. Set through the platform API
-- (UpdateTenantSettings).
ALTER TABLE tenants
  ADD COLUMN agent_retention_days integer NOT NULL DEFAULT 7 CHECK (agent_retention_days BETWEEN 0 AND 3650);

-- The sweep's candidates: disconnected agents of a tenant by last seen.
CREATE INDEX agents_retention_idx ON agents (tenant_id, last_seen_at) WHERE NOT connected;
