-- config-service: the apply deadline of staged rollouts (libs/desired-state
-- ROLLOUTS.md). An agent of a started batch that has not reported the new
-- version APPLIED or FAILED within apply_timeout_ms of it being sent counts as
-- timed out, against the batch's failure tolerance, so a batch is decided
-- instead of waiting forever on an agent stuck in APPLYING.

-- 0 = no deadline: what rollouts created before this migration keep (the API
-- gives new rollouts a default of 10 minutes).
ALTER TABLE rollouts
  ADD COLUMN apply_timeout_ms integer NOT NULL DEFAULT 0 CHECK (apply_timeout_ms >= 0);

-- The deadline counts from the send of the version, but never from before
-- this time: the batch start, and again when an operator resumes a batch its
-- gate failed (resuming judges it from scratch, timed-out agents included).
ALTER TABLE rollout_batches
  ADD COLUMN deadline_from timestamptz;

-- When the driver recorded the agent as timed out (one rollout event per
-- agent, not one per tick); cleared when its batch is judged from scratch.
ALTER TABLE rollout_agents
  ADD COLUMN timed_out_at timestamptz;
