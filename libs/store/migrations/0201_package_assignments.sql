-- Desired packages per group (issue 17 item 3): which package versions the
-- agents a label selector matches should run, chosen like assignments (the
-- highest priority matching one wins, the first name among equals).
-- `packages` is [{"packageName": ..., "version": ...}] (one version per package).
CREATE TABLE package_assignments (
  tenant_id  text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name       text NOT NULL,
  selector   text NOT NULL,
  priority   integer NOT NULL DEFAULT 0,
  packages   jsonb NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

-- What was last offered to each agent (PackagesAvailable.all_packages_hash),
-- where and when: an agent that does not report package statuses gets a
-- given set once; one that does is not sent it again while its status is
-- awaited on the same connection, nor after it failed to install it.
ALTER TABLE agents
  ADD COLUMN packages_offered_hash       bytea,
  ADD COLUMN packages_offered_connection text,
  ADD COLUMN packages_offered_at         timestamptz;
