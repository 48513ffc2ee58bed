/**
 * Why a certificate request is refused: a stable code (metrics, the API) and
 * a message for the agent's BAD_REQUEST or the operator. Messages quote
 * nothing of the request beyond short, checked values.
 */
export type RefusalCode =
  | 'malformed'
  | 'too_large'
  | 'bad_signature'
  | 'key_type'
  | 'uid_mismatch'
  | 'tenant_mismatch'
  | 'san_not_allowed'
  | 'ca_expiring'
  | 'bad_ca';

export class CertificateRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateRefusal';
  }
}
