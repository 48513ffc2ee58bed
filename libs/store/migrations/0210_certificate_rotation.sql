-- Certificate rotation (issue 18 item 4). A tenant's policy says when in a
-- certificate's life it is renewed; an operator may ask for renewals (per
-- agent, selector or tenant), which the certificate sweep works page by page;
-- a renewal remembers the certificate it replaces and why it was made.
ALTER TABLE certificate_policies ADD COLUMN rotate_at_percent integer NOT NULL DEFAULT 67 CHECK (rotate_at_percent BETWEEN 10 AND 95);

ALTER TABLE agent_certificates
  ADD COLUMN rotation_requested_at timestamptz,
  -- A renewal that could not be made (the CA ends first) is not tried again before this.
  ADD COLUMN rotation_retry_at timestamptz,
  ADD COLUMN renews_id uuid REFERENCES agent_certificates (id) ON DELETE SET NULL,
  ADD COLUMN rotation_reason text CHECK (rotation_reason IN ('requested', 'ca_rotation', 'expiry'));

-- The rotation sweep reads active certificates soonest to expire first.
CREATE INDEX agent_certificates_active_expiry_idx ON agent_certificates (not_after) WHERE state = 'active';
