-- Agents' own telemetry (issue 19): what this server's OTLP receiver got from
-- each agent, counted by the first consumer of opamp.agent-telemetry
-- (libs/ingest own-telemetry-counter.repository.ts) and shown in the agent's
-- detail. The data itself is kept by a later store; these counters prove
-- the path. Removed with the agent.
CREATE TABLE agent_own_telemetry (
  tenant_id        text NOT NULL,
  instance_uid     bytea NOT NULL,
  data_points      bigint NOT NULL DEFAULT 0,
  spans            bigint NOT NULL DEFAULT 0,
  log_records      bigint NOT NULL DEFAULT 0,
  last_received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, instance_uid),
  FOREIGN KEY (tenant_id, instance_uid) REFERENCES agents (tenant_id, instance_uid) ON DELETE CASCADE
);
