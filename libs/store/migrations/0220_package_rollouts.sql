-- Staged package rollouts (issue 17 item 4): the rollout engine of 0110
-- drives a package assignment from its package versions to new ones, with the
-- same batches, gates, leases and events. A rollout now targets one kind:
-- 'configuration' (an assignment, from one configuration version to another)
-- or 'package' (a package assignment, from one set of package versions,
-- [{"packageName", "version"}], to another). Rollout names stay unique per
-- tenant across both kinds.
ALTER TABLE rollouts
  ADD COLUMN target_kind text NOT NULL DEFAULT 'configuration' CHECK (target_kind IN ('configuration', 'package')),
  ADD COLUMN from_packages jsonb,
  ADD COLUMN to_packages jsonb;

ALTER TABLE rollouts
  ALTER COLUMN configuration_name DROP NOT NULL,
  ALTER COLUMN from_version DROP NOT NULL,
  ALTER COLUMN to_version DROP NOT NULL;

ALTER TABLE rollouts ADD CONSTRAINT rollouts_target_check CHECK (
  (target_kind = 'configuration' AND configuration_name IS NOT NULL AND from_version IS NOT NULL AND to_version IS NOT NULL
     AND from_packages IS NULL AND to_packages IS NULL)
  OR (target_kind = 'package' AND configuration_name IS NULL AND from_version IS NULL AND to_version IS NULL
     AND from_packages IS NOT NULL AND to_packages IS NOT NULL));

-- One holder per assignment of each kind: an assignment and a package
-- assignment may share a name.
DROP INDEX rollouts_holder_idx;
CREATE UNIQUE INDEX rollouts_holder_idx ON rollouts (tenant_id, target_kind, assignment_name) WHERE holds_assignment;
