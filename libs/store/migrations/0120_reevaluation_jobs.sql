-- config-service: durable re-evaluations. A desired-state change through the
-- API (configuration version, assignment created, changed or deleted) records
-- the agents to re-evaluate here, in the transaction of the change. A
-- reconciler works a job in keyset pages of agents and advances `cursor` after
-- each page, so a crash mid-way loses nothing: another reconciler (this or
-- another replica) takes the job over once the lease expires and continues
-- from the cursor. Jobs of one tenant are worked one at a time, oldest first;
-- a finished job is deleted.

CREATE TABLE reevaluation_jobs (
  id               bigserial PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Label selectors (canonical text) whose agents are re-evaluated; NULL = every agent of the tenant.
  selectors        jsonb,
  -- Why (the audit action that recorded it), for operators.
  reason           text NOT NULL DEFAULT '',
  -- Last instance uid done (keyset cursor); NULL = not started.
  cursor           bytea,
  pages_done       integer NOT NULL DEFAULT 0,
  agents_done      integer NOT NULL DEFAULT 0,
  -- The reconciler working the job, until lease_expires_at (renewed after every page).
  lease_owner      text,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX reevaluation_jobs_tenant_idx ON reevaluation_jobs (tenant_id, id);
