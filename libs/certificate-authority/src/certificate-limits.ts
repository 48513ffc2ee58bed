/** The certificate authority's limits, in one place. */

/** A CSR's PEM text larger than this is refused before parsing (an RSA-4096 CSR with a few SANs is ~2 KiB). */
export const MAX_CSR_BYTES = 16 * 1024;
/** SAN entries a CSR may ask for. */
export const MAX_CSR_SAN_ENTRIES = 16;
/** A client certificate's lifetime bounds (hours). */
export const MIN_CLIENT_CERT_LIFETIME_HOURS = 1;
export const MAX_CLIENT_CERT_LIFETIME_HOURS = 24 * 366;
export const DEFAULT_CLIENT_CERT_LIFETIME_HOURS = 24 * 7;
/** A CA's lifetime bounds (days). */
export const MIN_CA_LIFETIME_DAYS = 1;
export const MAX_CA_LIFETIME_DAYS = 365 * 20;
export const DEFAULT_CA_LIFETIME_DAYS = 365 * 2;
/** Certificates start this much before the moment of signing, for agents whose clocks run behind. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/** DNS name patterns a tenant's policy may list. */
export const MAX_POLICY_DNS_PATTERNS = 64;
/**
 * Certificate rotation: an agent's certificate is renewed once this share of
 * its lifetime (percent) has passed; the tenant's policy may move it within
 * the bounds (too early rotates for nothing, too late leaves no time to follow).
 */
export const DEFAULT_ROTATE_AT_PERCENT = 67;
export const MIN_ROTATE_AT_PERCENT = 10;
export const MAX_ROTATE_AT_PERCENT = 95;
/** How long a CA's CRL is valid (hours; its nextUpdate). It is re-signed on every revocation and once less than half of this is left. */
export const MIN_CRL_VALIDITY_HOURS = 1;
export const MAX_CRL_VALIDITY_HOURS = 24 * 31;
export const DEFAULT_CRL_VALIDITY_HOURS = 24;
