-- config-service: staged rollouts. A rollout moves the agents one assignment
-- targets from one configuration version to another, batch by batch, behind
-- health gates. Exactly one config-service replica drives a rollout at a
-- time: it holds the lease (driver_id, lease_expires_at) and fences every
-- write with lease_epoch, which grows with each takeover.

CREATE TABLE rollouts (
  tenant_id          text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name               text NOT NULL,
  assignment_name    text NOT NULL,
  configuration_name text NOT NULL,
  from_version       integer NOT NULL CHECK (from_version >= 1),
  to_version         integer NOT NULL CHECK (to_version >= 1),
  -- libs/desired-state core/rollout.ts RolloutStrategy and RolloutGates.
  strategy           jsonb NOT NULL,
  gates              jsonb NOT NULL,
  soak_ms            integer NOT NULL CHECK (soak_ms >= 0),
  auto_rollback      boolean NOT NULL DEFAULT false,
  state              text NOT NULL CHECK (state IN ('pending', 'running', 'paused', 'completed', 'aborted', 'rolling_back', 'rolled_back')),
  -- Why the rollout is paused, rolled back or aborted (gate failure, operator).
  state_reason       text NOT NULL DEFAULT '',
  -- The assignment followed the latest version before the rollout pinned it.
  assignment_followed_latest boolean NOT NULL DEFAULT false,
  -- Agents the assignment targeted when the rollout started (percentages are of this).
  total_agents       integer NOT NULL DEFAULT 0,
  -- Index of the batch in progress (-1 before the first).
  current_batch      integer NOT NULL DEFAULT -1,
  -- The rollout whose pins count for the assignment (the newest one started).
  holds_assignment   boolean NOT NULL DEFAULT false,
  -- Bumped by every change; writers compare it (optimistic concurrency with the API).
  revision           bigint NOT NULL DEFAULT 0,
  driver_id          text,
  lease_epoch        bigint NOT NULL DEFAULT 0,
  lease_expires_at   timestamptz,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  PRIMARY KEY (tenant_id, name),
  -- A configuration can only be deleted once no assignment uses it; its rollouts' history goes with it.
  FOREIGN KEY (tenant_id, configuration_name) REFERENCES configurations (tenant_id, name) ON DELETE CASCADE
);

-- One rollout at a time per assignment holds it.
CREATE UNIQUE INDEX rollouts_holder_idx ON rollouts (tenant_id, assignment_name) WHERE holds_assignment;
-- Drivers look for work.
CREATE INDEX rollouts_driving_idx ON rollouts (state) WHERE state IN ('running', 'rolling_back');

CREATE TABLE rollout_batches (
  tenant_id        text NOT NULL,
  rollout_name     text NOT NULL,
  batch_index      integer NOT NULL CHECK (batch_index >= 0),
  name             text NOT NULL,
  -- {"kind": "count", "upTo": n} | {"kind": "stage", "selector": "..."} | {"kind": "rest"}
  take             jsonb NOT NULL,
  planned_agents   integer NOT NULL DEFAULT -1,
  state            text NOT NULL CHECK (state IN ('pending', 'applying', 'soaking', 'passed', 'failed')),
  agents           integer NOT NULL DEFAULT 0,
  failure_reason   text NOT NULL DEFAULT '',
  started_at       timestamptz,
  soak_started_at  timestamptz,
  finished_at      timestamptz,
  PRIMARY KEY (tenant_id, rollout_name, batch_index),
  FOREIGN KEY (tenant_id, rollout_name) REFERENCES rollouts (tenant_id, name) ON DELETE CASCADE
);

-- The agents a rollout has taken, each in its batch. 'moved' pins the agent to
-- the new version (the reconciler reads it); 'reverted' returns it to the
-- assignment's version after a rollback.
CREATE TABLE rollout_agents (
  tenant_id     text NOT NULL,
  rollout_name  text NOT NULL,
  instance_uid  bytea NOT NULL CHECK (octet_length(instance_uid) = 16),
  batch_index   integer NOT NULL,
  state         text NOT NULL CHECK (state IN ('moved', 'reverted')),
  moved_at      timestamptz NOT NULL DEFAULT now(),
  reverted_at   timestamptz,
  PRIMARY KEY (tenant_id, rollout_name, instance_uid),
  FOREIGN KEY (tenant_id, rollout_name) REFERENCES rollouts (tenant_id, name) ON DELETE CASCADE
);

CREATE INDEX rollout_agents_batch_idx ON rollout_agents (tenant_id, rollout_name, batch_index);
-- The reconciler's lookup: the pins of a set of agents.
CREATE INDEX rollout_agents_pin_idx ON rollout_agents (tenant_id, instance_uid) WHERE state = 'moved';

-- What happened, in order, for the API's event stream.
CREATE TABLE rollout_events (
  id            bigserial PRIMARY KEY,
  tenant_id     text NOT NULL,
  rollout_name  text NOT NULL,
  -- e.g. 'created', 'started', 'batch_started', 'batch_soaking', 'batch_passed', 'batch_failed', 'paused', 'resumed',
  -- 'aborted', 'rollback_started', 'rolled_back', 'completed', 'driver_acquired'.
  type          text NOT NULL,
  batch_index   integer,
  message       text NOT NULL DEFAULT '',
  details       jsonb NOT NULL DEFAULT '{}'::jsonb,
  actor         text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, rollout_name) REFERENCES rollouts (tenant_id, name) ON DELETE CASCADE
);

CREATE INDEX rollout_events_rollout_idx ON rollout_events (tenant_id, rollout_name, id);
