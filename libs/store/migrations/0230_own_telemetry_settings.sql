-- Agents' own telemetry (issue 19): whether the agents of a tenant are told
-- to send their own metrics, traces and logs to this server's OTLP receiver
-- for the signals their connection profile names no destination for
-- (libs/desired-state core/connection-profile.ts). Off by default: an offer
-- makes a supervised Collector restart with a new service.telemetry.
ALTER TABLE tenants
  ADD COLUMN own_telemetry_to_server boolean NOT NULL DEFAULT false;
