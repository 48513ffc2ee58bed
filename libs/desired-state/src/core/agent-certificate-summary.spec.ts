import { certificateSummaryOf, checkedExpiryWindow } from './agent-certificate-summary';

const T1 = '2026-12-09T00:00:00.000Z';
const T2 = '2026-12-16T00:00:00.000Z';

describe('certificateSummaryOf', () => {
  it('counts the certificate the agent connects with; a renewal beside it is pending', () => {
    expect(certificateSummaryOf({ activeUntil: T1, issuedUntil: null, expiredAt: null, revokedUntil: null })).toEqual({ state: 'ACTIVE', notAfter: T1, renewalPending: false });
    expect(certificateSummaryOf({ activeUntil: T1, issuedUntil: T2, expiredAt: null, revokedUntil: T2 })).toEqual({ state: 'ACTIVE', notAfter: T1, renewalPending: true });
  });

  it('else the one issued and not used, else the last expired one, else none', () => {
    expect(certificateSummaryOf({ activeUntil: null, issuedUntil: T2, expiredAt: T1, revokedUntil: null })).toEqual({ state: 'ISSUED', notAfter: T2, renewalPending: false });
    expect(certificateSummaryOf({ activeUntil: null, issuedUntil: null, expiredAt: T1, revokedUntil: null })).toEqual({ state: 'EXPIRED', notAfter: T1, renewalPending: false });
    expect(certificateSummaryOf({ activeUntil: null, issuedUntil: null, expiredAt: null, revokedUntil: null })).toEqual({ state: 'NONE', notAfter: '', renewalPending: false });
  });

  it('an agent whose last certificate was revoked is REVOKED, not NONE; of a revoked and an expired one, the later end counts', () => {
    expect(certificateSummaryOf({ activeUntil: null, issuedUntil: null, expiredAt: null, revokedUntil: T2 })).toEqual({ state: 'REVOKED', notAfter: T2, renewalPending: false });
    expect(certificateSummaryOf({ activeUntil: null, issuedUntil: null, expiredAt: T1, revokedUntil: T2 })).toEqual({ state: 'REVOKED', notAfter: T2, renewalPending: false });
    expect(certificateSummaryOf({ activeUntil: null, issuedUntil: null, expiredAt: T2, revokedUntil: T1 })).toEqual({ state: 'EXPIRED', notAfter: T2, renewalPending: false });
  });
});

describe('checkedExpiryWindow', () => {
  it('takes 0 (no filter) to ten years of whole days; anything else is refused with the reason', () => {
    expect(checkedExpiryWindow(0)).toBe(0);
    expect(checkedExpiryWindow(7)).toBe(7);
    expect(() => checkedExpiryWindow(-1)).toThrow('certificate_expires_within_days must be a whole number from 0 to 3650');
    expect(() => checkedExpiryWindow(3651)).toThrow('certificate_expires_within_days');
  });
});
