-- Issue 21: push latency (a desired-state change -> the agent reports it
-- APPLIED) without a round trip per status. The tenant's revision records when
-- it last changed; each agent's decision records since when its desired hash
-- has been desired (the change's time, or when a rollout batch moved the
-- agent; NULL when the agent itself caused it: a new agent, its own
-- attributes) and which hash's APPLIED was counted, so a hash counts once.
ALTER TABLE desired_state_revisions ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE agent_config_state
  ADD COLUMN desired_since timestamptz,
  ADD COLUMN applied_hash bytea;
