-- config-service: which connection a remote config was last sent to, so the
-- reconciler does not send the same hash to the same connection again while
-- the agent's status of it is awaited (libs/desired-state core/reconcile.ts,
-- CONFIG_STATUS_WAIT_MS). NULL (sends before this migration) waits for nothing.
ALTER TABLE agent_config_state
  ADD COLUMN last_sent_connection text;
