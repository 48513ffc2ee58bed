-- The labels of the enrollment token an agent came in with (api_tokens.labels
-- of the token, or of the token that issued its own credential), kept by
-- status-ingest when the agent's credential changes and merged into
-- agents.labels (the column selectors query), winning on a key collision.
ALTER TABLE agents
  ADD COLUMN enrollment_labels jsonb NOT NULL DEFAULT '{}'::jsonb;
