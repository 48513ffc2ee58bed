import { certificateView } from './agent-certificate';
import { relativeTime } from './format';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('certificateView', () => {
  it('says when the certificate ends, warning within the 7-day window and naming a renewal not switched to', () => {
    expect(certificateView({ state: 'ACTIVE', notAfter: '2026-01-20T00:00:00Z', renewalPending: false }, now, relativeTime)).toMatchObject({ text: 'in 19 d', tone: 'ok' });
    expect(certificateView({ state: 'ACTIVE', notAfter: '2026-01-03T00:00:00Z', renewalPending: true }, now, relativeTime)).toMatchObject({ text: 'in 2 d · renewing', tone: 'warn' });
  });

  it('an expired or revoked one is bad; none is a dash', () => {
    expect(certificateView({ state: 'EXPIRED', notAfter: '2025-12-31T00:00:00Z', renewalPending: false }, now, relativeTime)).toMatchObject({ text: 'expired 1 d ago', tone: 'bad' });
    expect(certificateView({ state: 'NONE', notAfter: '', renewalPending: false }, now, relativeTime)).toMatchObject({ text: '—', tone: 'muted' });
    expect(certificateView({ state: 'REVOKED', notAfter: '2026-03-01T00:00:00Z', renewalPending: false }, now, relativeTime)).toMatchObject({ text: 'revoked', tone: 'bad' });
    expect(certificateView(undefined, now, relativeTime).text).toBe('—');
  });
});
