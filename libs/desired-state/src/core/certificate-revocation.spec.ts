import { certificateRevocationOf, revocationReasonOf } from './certificate-revocation';
import { DesiredStateError } from './errors';

const FP = 'ab'.repeat(32);
const UID = '0123456789abcdef0123456789abcdef';
const CA = '6f1c7a52-0c1e-4a57-9d0e-0c8b7f6a5e4d';

describe('what a certificate revocation covers', () => {
  it('names one certificate by id, serial or fingerprint, in the forms tools print them', () => {
    expect(certificateRevocationOf({ certificateId: CA.toUpperCase() }).scope).toEqual({ kind: 'certificate', by: 'id', value: CA, caId: null });
    expect(certificateRevocationOf({ serial: '00:7F:0A' }).scope).toEqual({ kind: 'certificate', by: 'serial', value: '7f0a', caId: null });
    expect(certificateRevocationOf({ fingerprint: FP.toUpperCase().match(/../g)!.join(':') }).scope).toEqual({ kind: 'certificate', by: 'fingerprint', value: FP, caId: null });
  });

  it('names every certificate of an agent, or of the agents a selector matches (optionally only one CA\'s)', () => {
    expect(certificateRevocationOf({ instanceUid: UID.toUpperCase() }).scope).toEqual({ kind: 'agent', uidHex: UID, caId: null });
    expect(certificateRevocationOf({ selector: 'env=prod', caId: CA }).scope).toEqual({ kind: 'selector', selector: 'env=prod', caId: CA });
  });

  it('takes the reason code by its enum name or lowercase, unspecified by default, and the note', () => {
    expect(certificateRevocationOf({ instanceUid: UID, reason: 'KEY_COMPROMISE', note: ' laptop stolen ' })).toMatchObject({ reason: 'key_compromise', note: 'laptop stolen' });
    expect(revocationReasonOf('REVOCATION_REASON_SUPERSEDED')).toBe('superseded');
    expect(revocationReasonOf(undefined)).toBe('unspecified');
    expect(revocationReasonOf('cessation_of_operation')).toBe('cessation_of_operation');
  });

  it('refuses no scope, two scopes, malformed values, an unknown reason and a long note, with the reason', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'name exactly one of certificate_id, serial, fingerprint, instance_uid, selector'],
      [{ serial: '01', instanceUid: UID }, 'name exactly one of'],
      [{ certificateId: 'nope' }, 'certificate_id must be a certificate id (a UUID)'],
      [{ serial: 'xyz' }, 'serial must be the certificate serial number in hex'],
      [{ serial: 'a'.repeat(41) }, 'serial must be the certificate serial number in hex'],
      [{ fingerprint: 'ab' }, 'fingerprint must be the SHA-256 of the certificate'],
      [{ instanceUid: 'short' }, 'instance_uid must be 32 hex digits'],
      [{ instanceUid: UID, caId: 'x' }, 'ca_id must be a certificate authority id'],
      [{ instanceUid: UID, reason: 'CERTIFICATE_HOLD' }, 'reason must be one of UNSPECIFIED, KEY_COMPROMISE'],
      [{ instanceUid: UID, note: 'n'.repeat(501) }, 'note must be at most 500 characters'],
    ];
    for (const [req, message] of cases) {
      expect(() => certificateRevocationOf(req)).toThrow(message);
      expect(() => certificateRevocationOf(req)).toThrow(DesiredStateError);
    }
  });

  it('revoking agents names agents only (an agent, a selector), not single certificates', () => {
    expect(() => certificateRevocationOf({ serial: '01' }, true)).toThrow('name exactly one of instance_uid, selector');
    expect(certificateRevocationOf({ selector: 'team=a' }, true).scope).toEqual({ kind: 'selector', selector: 'team=a', caId: null });
  });
});
