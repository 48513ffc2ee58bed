import { planCertificateActivations, renewalOutlives, rotationDueAtMs, rotationReason, switchStalled, type RotationCandidate } from './certificate-rotation';

const HOUR = 3_600_000;
const A = 'aa'.repeat(16);
const B = 'bb'.repeat(16);

describe('planCertificateActivations', () => {
  it('activates the certificate issued to the agent it is seen on, superseding its other live ones then (C64)', () => {
    const live = new Map([[A, [{ id: 'old', state: 'active', createdAtMs: 1 }, { id: 'new', state: 'issued', createdAtMs: 2 }]]]);
    expect(planCertificateActivations([{ key: A, certificateId: 'new' }], live)).toEqual([{ key: A, activate: 'new', supersede: ['old'] }]);
  });

  it('changes nothing while the agent is still on its old certificate, or on one already active', () => {
    const live = new Map([[A, [{ id: 'old', state: 'active', createdAtMs: 1 }, { id: 'new', state: 'issued', createdAtMs: 2 }]]]);
    expect(planCertificateActivations([{ key: A, certificateId: 'old' }], live)).toEqual([]);
    expect(planCertificateActivations([{ key: B, certificateId: 'new' }], live)).toEqual([]);
  });

  it('keeps a newer certificate issued while the agent connected on this one (it is offered, the agent may be switching to it)', () => {
    const live = new Map([[A, [{ id: 'old', state: 'active', createdAtMs: 1 }, { id: 'connected', state: 'issued', createdAtMs: 2 }, { id: 'newer', state: 'issued', createdAtMs: 3 }]]]);
    expect(planCertificateActivations([{ key: A, certificateId: 'connected' }], live)).toEqual([{ key: A, activate: 'connected', supersede: ['old'] }]);
    expect(planCertificateActivations([{ key: A, certificateId: 'newer' }], live)).toEqual([{ key: A, activate: 'newer', supersede: ['old', 'connected'] }]);
  });

  it('activates a first certificate (nothing to supersede), once per agent however often it is seen', () => {
    const live = new Map([[A, [{ id: 'first', state: 'issued', createdAtMs: 1 }]]]);
    expect(
      planCertificateActivations(
        [
          { key: A, certificateId: 'first' },
          { key: A, certificateId: 'first' },
        ],
        live,
      ),
    ).toEqual([{ key: A, activate: 'first', supersede: [] }]);
  });
});

describe('rotationReason', () => {
  const NOW = Date.UTC(2026, 0, 10);
  const base: RotationCandidate = { notBeforeMs: NOW - 10 * HOUR, notAfterMs: NOW + 20 * HOUR, caRetiring: false, requested: false, renewalPending: false, rotateAtPercent: 67 };

  it('is due once the policy share of the lifetime has passed (2/3 by default), not before', () => {
    expect(rotationDueAtMs(0, 30 * HOUR, 67)).toBe(Math.floor(30 * HOUR * 0.67));
    expect(rotationReason(base, NOW)).toBeNull();
    expect(rotationReason(base, NOW + 10 * HOUR + 6 * 60_000)).toBe('expiry');
    expect(rotationReason({ ...base, rotateAtPercent: 30 }, NOW)).toBe('expiry');
  });

  it('an operator request and a retiring CA make it due at once, the request named first', () => {
    expect(rotationReason({ ...base, caRetiring: true }, NOW)).toBe('ca_rotation');
    expect(rotationReason({ ...base, caRetiring: true, requested: true }, NOW)).toBe('requested');
  });

  it('never while a renewal waits for the agent unless asked again (a fresh one replaces it), nor once it has expired', () => {
    expect(rotationReason({ ...base, caRetiring: true, renewalPending: true }, NOW)).toBeNull();
    expect(rotationReason({ ...base, renewalPending: true }, NOW + 15 * HOUR)).toBeNull();
    expect(rotationReason({ ...base, requested: true, renewalPending: true }, NOW)).toBe('requested');
    expect(rotationReason({ ...base, requested: true }, base.notAfterMs)).toBeNull();
  });
});

describe('renewalOutlives and switchStalled', () => {
  it('a renewal cut at the end of the CA is not offered; a switch not made within the bound is stalled', () => {
    expect(renewalOutlives(1000, 1000)).toBe(false);
    expect(renewalOutlives(1000, 1001)).toBe(true);
    expect(switchStalled(0, HOUR - 1, HOUR)).toBe(false);
    expect(switchStalled(0, HOUR, HOUR)).toBe(true);
  });
});
