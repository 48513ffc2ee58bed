import { credentialKindText, credentialView, deadlineText, MAX_REVOKE_REASON, revokeGate, revokeReasonProblem, rotateGate } from './agent-credential';
import { relativeTime } from './format';

describe('credential state badge', () => {
  it('reads each state, with the deadline while rotating', () => {
    expect(credentialView({ kind: 'ENROLLMENT_TOKEN', state: 'NONE', retireTime: '' })).toMatchObject({ text: 'none', tone: 'muted' });
    expect(credentialView({ kind: 'ENROLLMENT_TOKEN', state: 'OFFERED', retireTime: '' })).toMatchObject({ text: 'offered', tone: 'info' });
    expect(credentialView({ kind: 'OWN_CREDENTIAL', state: 'ACTIVE', retireTime: '' })).toMatchObject({ text: 'active', tone: 'ok' });
    const rotating = credentialView({ kind: 'OWN_CREDENTIAL', state: 'ROTATING', retireTime: '2026-01-08T00:00:00.000Z' });
    expect(rotating).toMatchObject({ text: 'rotating', tone: 'warn' });
    expect(rotating.title).toContain('2026-01-08T00:00:00.000Z');
    expect(credentialView({ kind: 'OWN_CREDENTIAL', state: 'REVOKED', retireTime: '' })).toMatchObject({ text: 'revoked', tone: 'bad' });
  });

  it('is unknown without a summary or with a state it does not know', () => {
    expect(credentialView(undefined).text).toBe('unknown');
    expect(credentialView(null).text).toBe('unknown');
    expect(credentialView({ kind: '', state: 'LATER' as never, retireTime: '' }).text).toBe('unknown');
    expect(credentialKindText('ENROLLMENT_TOKEN')).toBe('enrollment token');
    expect(credentialKindText('')).toBe('unknown');
  });
});

describe('rotate and revoke gates', () => {
  it('rotates only an agent with a credential in use and no rotation under way', () => {
    expect(rotateGate({ kind: 'OWN_CREDENTIAL', state: 'ACTIVE', retireTime: '' })).toEqual({ ok: true, reason: '' });
    for (const state of ['NONE', 'OFFERED', 'ROTATING', 'REVOKED'] as const) {
      const gate = rotateGate({ kind: 'OWN_CREDENTIAL', state, retireTime: '' });
      expect({ state, ok: gate.ok, hasReason: gate.reason.length > 0 }).toEqual({ state, ok: false, hasReason: true });
    }
    expect(rotateGate(undefined).ok).toBe(false);
  });

  it('revokes while some credential is accepted', () => {
    expect(revokeGate([{ state: 'SUPERSEDED' }, { state: 'ACTIVE' }]).ok).toBe(true);
    expect(revokeGate([{ state: 'OFFERED' }]).ok).toBe(true);
    expect(revokeGate([{ state: 'REVOKED' }, { state: 'EXPIRED' }])).toEqual({ ok: false, reason: 'No credential of this agent is accepted now: nothing to revoke.' });
    expect(revokeGate([]).ok).toBe(false);
  });

  it('wants a reason, within the API limit', () => {
    expect(revokeReasonProblem('  ')).toMatch(/Say why/);
    expect(revokeReasonProblem('lost laptop')).toBe('');
    expect(revokeReasonProblem('x'.repeat(MAX_REVOKE_REASON))).toBe('');
    expect(revokeReasonProblem('x'.repeat(MAX_REVOKE_REASON + 1))).toBe('At most 500 characters (501 now).');
  });
});

describe('pending switch deadline', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('counts down, and says when it has passed', () => {
    expect(deadlineText('2026-01-07T00:00:00Z', now, relativeTime)).toEqual({ text: 'in 6 d', overdue: false });
    expect(deadlineText('2025-12-31T23:00:00Z', now, relativeTime)).toEqual({ text: 'overdue: expires at the next sweep', overdue: true });
    expect(deadlineText('', now, relativeTime)).toEqual({ text: '—', overdue: false });
  });
});
