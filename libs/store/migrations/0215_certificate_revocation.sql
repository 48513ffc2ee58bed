-- Certificate revocation (issue 18 item 5). A revoked certificate keeps its
-- row (state revoked, revoked_at, revoke_reason: the operator's note) and now
-- a reason code (RFC 5280 CRLReason, as the CRL names it). Each CA's current
-- CRL is stored, so every replica and the terminator see the same signed
-- list until it is re-signed (a revocation, or less than half its validity left).
ALTER TABLE agent_certificates ADD COLUMN revoke_reason_code text;
ALTER TABLE agent_certificates ADD COLUMN revoked_by text;
-- What a CA's CRL lists: its revoked certificates not yet expired.
CREATE INDEX agent_certificates_revoked_idx ON agent_certificates (ca_id, not_after) WHERE state = 'revoked';

CREATE TABLE certificate_revocation_lists (
  ca_id       uuid PRIMARY KEY REFERENCES certificate_authorities (id) ON DELETE CASCADE,
  tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Increases with each list signed for the CA (what the API reports).
  crl_number  bigint NOT NULL,
  this_update timestamptz NOT NULL,
  next_update timestamptz NOT NULL,
  crl_der     bytea NOT NULL,
  crl_pem     text NOT NULL,
  entries     integer NOT NULL,
  signed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificate_revocation_lists_due_idx ON certificate_revocation_lists (next_update);
