-- Offers of agents' credentials driven from the database (issue 14): a
-- rotation, a connection profile change or a retry after a FAILED offer marks
-- the credentials whose offer is due; config-service replicas take due ones
-- page by page (a claim with a lease, so a replica that stops mid-rotation
-- leaves them to the next) and offer them to the agents connected now.
ALTER TABLE agent_credentials
  -- When the offer of this credential is (again) due; NULL: nothing to send.
  ADD COLUMN offer_due_at    timestamptz,
  -- The pass that claimed it (its due time is then the claim's lease end).
  ADD COLUMN offer_claim     uuid,
  -- The agent reported ConnectionSettingsStatus FAILED for an offer of it: how often, when last, and why.
  ADD COLUMN offer_failures  integer NOT NULL DEFAULT 0,
  ADD COLUMN offer_failed_at timestamptz,
  ADD COLUMN offer_error     text;

CREATE INDEX agent_credentials_offer_due_idx ON agent_credentials (offer_due_at) WHERE offer_due_at IS NOT NULL;
