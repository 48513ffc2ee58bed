-- Issue 18 item 7: the SHA-256 of the CSR a certificate was signed from
-- (NULL for renewals and older rows). Agent events are delivered at least
-- once (a batch replays after a consumer lost its group), so the same CSR can
-- arrive twice: while a live certificate from it exists, nothing new is
-- issued (a second one would supersede the first, which the agent may be
-- connected on already).
ALTER TABLE agent_certificates ADD COLUMN csr_digest bytea CHECK (octet_length(csr_digest) = 32);
