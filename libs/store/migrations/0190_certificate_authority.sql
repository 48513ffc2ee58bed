-- Client certificates (issue 18). Each tenant has certificate authorities:
-- one active (signs), older ones retiring (still trusted by the mutual-TLS
-- terminator until their overlap ends) or retired. A built-in CA's private key
-- is stored sealed (AES-256-GCM) under a key derived from the server's
-- credential key, which lives outside the database (libs/certificate-authority
-- private-key-seal.ts); an operator's CA keeps its key in the operator's file.
CREATE TABLE certificate_authorities (
  id              uuid PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  state           text NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
  source          text NOT NULL DEFAULT 'built_in' CHECK (source IN ('built_in', 'operator')),
  key_type        text NOT NULL,
  certificate_pem text NOT NULL,
  sealed_key      bytea,
  -- SHA-256 of the certificate's DER, lowercase hex.
  fingerprint     text NOT NULL,
  serial          text NOT NULL,
  not_before      timestamptz NOT NULL,
  not_after       timestamptz NOT NULL,
  -- A retiring CA is trusted until then (the rotation's overlap).
  overlap_ends_at timestamptz,
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  retired_at      timestamptz,
  CHECK (source = 'operator' OR sealed_key IS NOT NULL)
);
CREATE UNIQUE INDEX certificate_authorities_one_active ON certificate_authorities (tenant_id) WHERE state = 'active';
CREATE INDEX certificate_authorities_tenant_idx ON certificate_authorities (tenant_id, created_at DESC);

-- What a tenant accepts from agents' CSRs and how long their certificates live.
CREATE TABLE certificate_policies (
  tenant_id         text PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  require_approval  boolean NOT NULL DEFAULT false,
  lifetime_hours    integer NOT NULL CHECK (lifetime_hours BETWEEN 1 AND 8784),
  key_types         text[] NOT NULL,
  allowed_dns_names text[] NOT NULL DEFAULT '{}',
  updated_by        text NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Agents' CSRs: waiting for an operator (approval on), then approved (a
-- certificate issued) or denied. The CSR is kept as the agent sent it (data:
-- parsed again when signed, never interpolated anywhere).
CREATE TABLE certificate_requests (
  id              uuid PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- The agent the certificate is for (the sender, or the uid the server reassigned it to).
  instance_uid    bytea NOT NULL CHECK (octet_length(instance_uid) = 16),
  sender_uid      bytea NOT NULL CHECK (octet_length(sender_uid) = 16),
  csr_pem         text NOT NULL,
  -- SHA-256 of the CSR as sent: the same CSR sent again is the same request.
  csr_digest      bytea NOT NULL CHECK (octet_length(csr_digest) = 32),
  key_type        text NOT NULL,
  dns_names       text[] NOT NULL DEFAULT '{}',
  state           text NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  decided_by      text,
  decision_reason text,
  certificate_id  uuid
);
-- One request waits per agent (a newer CSR replaces the waiting one).
CREATE UNIQUE INDEX certificate_requests_one_pending ON certificate_requests (tenant_id, instance_uid) WHERE state = 'pending';
CREATE INDEX certificate_requests_tenant_idx ON certificate_requests (tenant_id, state, created_at);

-- Agents' certificates: issued (signed, offered) -> active (the agent was seen
-- with it) -> superseded by a newer one, or revoked, or expired (not_after passed).
CREATE TABLE agent_certificates (
  id              uuid PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  instance_uid    bytea NOT NULL CHECK (octet_length(instance_uid) = 16),
  ca_id           uuid NOT NULL REFERENCES certificate_authorities (id) ON DELETE CASCADE,
  request_id      uuid REFERENCES certificate_requests (id) ON DELETE SET NULL,
  serial          text NOT NULL,
  -- SHA-256 of the DER, lowercase hex: the credential directory's key (kind CERTIFICATE).
  fingerprint     text NOT NULL UNIQUE,
  certificate_pem text NOT NULL,
  state           text NOT NULL CHECK (state IN ('issued', 'active', 'superseded', 'revoked', 'expired')),
  not_before      timestamptz NOT NULL,
  not_after       timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  activated_at    timestamptz,
  offered_at      timestamptz,
  offered_hash    bytea,
  revoked_at      timestamptz,
  revoke_reason   text
);
CREATE INDEX agent_certificates_agent_idx ON agent_certificates (tenant_id, instance_uid, created_at DESC);
-- Expiry listing ("expires within N days") and the expiry sweep.
CREATE INDEX agent_certificates_expiry_idx ON agent_certificates (tenant_id, not_after) WHERE state IN ('issued', 'active');
