-- Agent identity (issue 14). A tenant's agent tokens are enrollment
-- credentials: with an optional expiry, a use limit (agents enrolled) and
-- labels that the agents enrolling with them get. Agents that accept OpAMP
-- connection settings are issued a credential of their own, bound to their
-- instance_uid; only its SHA-256 is kept. The secret itself is derived from
-- the credential's id with the server's credential key (HMAC), a key that lives
-- outside the database, so an offer can be sent again (a lost push, a change of
-- the other connection settings) without any secret at rest.

ALTER TABLE api_tokens
  ADD COLUMN expires_at timestamptz,
  ADD COLUMN max_uses   integer CHECK (max_uses IS NULL OR max_uses > 0),
  ADD COLUMN uses       integer NOT NULL DEFAULT 0,
  ADD COLUMN labels     jsonb NOT NULL DEFAULT '{}'::jsonb;

ALTER TABLE tenants
  -- Agents may not stay on an enrollment token (those without 0x100 are refused).
  ADD COLUMN require_agent_credentials boolean NOT NULL DEFAULT false,
  -- Scheduled rotation of agents' own credentials; 0 = only on demand.
  ADD COLUMN agent_credential_lifetime_days integer NOT NULL DEFAULT 0 CHECK (agent_credential_lifetime_days BETWEEN 0 AND 3650),
  -- How long an old credential stays accepted after a rotation the agent has not followed.
  ADD COLUMN credential_switch_grace_hours integer NOT NULL DEFAULT 168 CHECK (credential_switch_grace_hours BETWEEN 1 AND 8760);

-- The credential each agent connection was admitted with (status-ingest).
ALTER TABLE agents
  ADD COLUMN credential_id   text,
  ADD COLUMN credential_kind smallint NOT NULL DEFAULT 0;

-- Which enrollment token first brought an agent in (the first claim), and how often it enrolled.
CREATE TABLE agent_enrollments (
  tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  instance_uid        bytea NOT NULL CHECK (octet_length(instance_uid) = 16),
  enrollment_token_id uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
  enrolled_at         timestamptz NOT NULL DEFAULT now(),
  -- 1 at the first enrollment; +1 each time the agent enrolls again after a revocation.
  enrollments         integer NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, instance_uid)
);

CREATE TABLE agent_credentials (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id           text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  instance_uid        bytea NOT NULL CHECK (octet_length(instance_uid) = 16),
  secret_hash         bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
  -- offered: on offer, not yet used (accepted: the agent must test it by connecting);
  -- active: the agent was seen with it; superseded: replaced by a newer one the agent switched to;
  -- revoked; expired: a rotation's deadline passed before the agent switched.
  state               text NOT NULL CHECK (state IN ('offered', 'active', 'superseded', 'revoked', 'expired')),
  enrollment_token_id uuid REFERENCES api_tokens (id) ON DELETE SET NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  activated_at        timestamptz,
  -- Last time the offer went out, and on which connection (not sent again there while awaited).
  offered_at          timestamptz,
  offered_connection  text,
  -- An active credential a rotation replaces: accepted until then, expired after.
  retire_at           timestamptz,
  expires_at          timestamptz,
  revoked_at          timestamptz,
  revoke_reason       text
);

CREATE INDEX agent_credentials_agent_idx ON agent_credentials (tenant_id, instance_uid);
-- At most one credential on offer and one in use per agent.
CREATE UNIQUE INDEX agent_credentials_one_offered ON agent_credentials (tenant_id, instance_uid) WHERE state = 'offered';
CREATE UNIQUE INDEX agent_credentials_one_active ON agent_credentials (tenant_id, instance_uid) WHERE state = 'active';
-- The rotation deadline sweep.
CREATE INDEX agent_credentials_retire_idx ON agent_credentials (retire_at) WHERE state = 'active' AND retire_at IS NOT NULL;
