-- Package installs that failed are offered again after a back-off (issue 17;
-- libs/desired-state core/package-retry.ts): per agent, the set the retries
-- count for (its attempt-0 all_packages_hash), how many were made, and when
-- the current attempt's failure was first seen (the back-off runs from then).
ALTER TABLE agents
  ADD COLUMN packages_retry_of   bytea,
  ADD COLUMN packages_retries    integer NOT NULL DEFAULT 0,
  ADD COLUMN packages_failed_at  timestamptz;

-- The retry sweep reads the agents whose failure waits, oldest first.
CREATE INDEX agents_packages_failed_at ON agents (packages_failed_at) WHERE packages_failed_at IS NOT NULL;
