-- Agents' own metrics (issue 19 item 3): the Collector's internal metrics as
-- a fixed set of series kinds (libs/ingest core/own-metric-series.ts), per
-- agent at 10 s (counters as per-second rates, gauges as read), kept 24 h,
-- and in 5-minute rollups (average, maximum) kept 30 days.
--
-- Why PostgreSQL (an estimate, to be confirmed by bench/ item 7, not yet
-- measured): 10,000 agents every 10 s with ~15 kept series each (one
-- pipeline per signal) are 15,000 rows/s, written as one unnest INSERT per
-- consumed batch (hundreds of statements a second, not thousands); batched
-- inserts of narrow rows run at tens of thousands of rows/s per core. The
-- 24 h window is ~1.3 billion rows, ~100 GB with its index: heavy but within
-- one server's disk, and dropped a day at a time (DROP of a partition: no
-- DELETE, no vacuum, no bloat). Rollups are 1/30 of the rows and cover 30
-- days. Daily partitions, created ahead by the ingest's sweep
-- (own-metric.repository.ts maintainPartitions), keep each query and each
-- drop on a bounded slice. No foreign key to agents: a deleted agent's
-- series age out with their partitions.
CREATE TABLE agent_own_metric_points (
  tenant_id    text NOT NULL,
  instance_uid bytea NOT NULL,
  kind         text NOT NULL,
  component    text NOT NULL,
  signal       text NOT NULL,
  at           timestamptz NOT NULL,
  value        double precision NOT NULL
) PARTITION BY RANGE (at);
CREATE INDEX agent_own_metric_points_agent ON agent_own_metric_points (tenant_id, instance_uid, kind, at);

CREATE TABLE agent_own_metric_rollups (
  tenant_id    text NOT NULL,
  instance_uid bytea NOT NULL,
  kind         text NOT NULL,
  component    text NOT NULL,
  signal       text NOT NULL,
  bucket_at    timestamptz NOT NULL,
  avg          double precision NOT NULL,
  max          double precision NOT NULL,
  count        integer NOT NULL,
  PRIMARY KEY (tenant_id, instance_uid, kind, component, signal, bucket_at)
) PARTITION BY RANGE (bucket_at);
