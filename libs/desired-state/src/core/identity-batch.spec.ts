import { admitEnrollments, afterEnrollment, enrollmentNeed, planIdentityBatch, type BatchAgent, type LiveCredential } from './identity-batch';

describe('identity batch decisions (pure)', () => {
  const offered: LiveCredential = { id: 'o1', state: 'offered' };
  const active: LiveCredential = { id: 'a1', state: 'active' };

  describe('planIdentityBatch', () => {
    const agent = (key: string, credentialId: string, ownCredential: boolean): BatchAgent => ({ key, credentialId, ownCredential });

    it('activates an agent seen with its offered credential, offers the others what they should hold, enrolls the ones on a token', () => {
      const live = new Map<string, LiveCredential[]>([
        ['a', [active, offered]],
        ['b', [active, offered]],
        ['c', [active]],
        ['d', []],
      ]);
      const steps = planIdentityBatch([agent('a', 'o1', true), agent('b', 'a1', true), agent('c', 'a1', true), agent('d', 'token', false), agent('e', 'gone', true)], live);
      expect(steps.map((s) => [s.agent.key, s.step, s.step === 'offer' ? s.credential.id : s.step === 'activate' ? s.offered.id : null])).toEqual([
        ['a', 'activate', 'o1'],
        // A rotation's new credential is what an agent on its old one is offered.
        ['b', 'offer', 'o1'],
        ['c', 'offer', 'a1'],
        ['d', 'enroll', null],
        // 'e' is on a credential that is not alive any more: nothing (the gateways refuse it).
      ]);
    });
  });

  it('tells a first enrollment, a known agent and one enrolling again after a revocation apart', () => {
    expect(enrollmentNeed(undefined)).toBe('enrolled');
    expect(enrollmentNeed({ alive: true, revoked: true })).toBe('known');
    expect(enrollmentNeed({ alive: false, revoked: false })).toBe('known');
    expect(enrollmentNeed({ alive: false, revoked: true })).toBe('re_enrolled');
  });

  describe('admitEnrollments', () => {
    it('admits exactly as many agents as a token has uses left, the first ones of the batch first', () => {
      const tokens = new Map([['t', { maxUses: 5, uses: 3 }]]);
      const candidates = ['a', 'b', 'c', 'd'].map((key) => ({ key, tokenId: 't' }));
      const { admitted, uses } = admitEnrollments(candidates, tokens);
      expect([...admitted]).toEqual(['a', 'b']);
      expect(uses).toEqual(new Map([['t', 2]]));
    });

    it('counts each token on its own, and admits without counting on a token without a limit or one it does not know (static, deleted)', () => {
      const tokens = new Map([
        ['limited', { maxUses: 1, uses: 0 }],
        ['free', { maxUses: null, uses: 41 }],
      ]);
      const { admitted, uses } = admitEnrollments(
        [
          { key: 'a', tokenId: 'limited' },
          { key: 'b', tokenId: 'free' },
          { key: 'c', tokenId: 'limited' },
          { key: 'd', tokenId: null },
          { key: 'e', tokenId: 'unknown' },
          { key: 'f', tokenId: 'free' },
        ],
        tokens,
      );
      expect([...admitted].sort()).toEqual(['a', 'b', 'd', 'e', 'f']);
      expect(uses).toEqual(new Map([['limited', 1], ['free', 2]]));
    });

    it('admits none on a token used up already', () => {
      const { admitted, uses } = admitEnrollments([{ key: 'a', tokenId: 't' }], new Map([['t', { maxUses: 2, uses: 2 }]]));
      expect(admitted.size).toBe(0);
      expect(uses.size).toBe(0);
    });
  });

  it('after an enrollment: refuses an exhausted one, offers what it holds, issues when it holds nothing, and nothing without the capability or issuing', () => {
    expect(afterEnrollment(true, true, true, [])).toEqual({ next: 'refuse' });
    expect(afterEnrollment(false, false, true, [])).toEqual({ next: 'none' });
    expect(afterEnrollment(false, true, false, [])).toEqual({ next: 'none' });
    expect(afterEnrollment(false, true, true, [active, offered])).toEqual({ next: 'offer', credential: offered });
    expect(afterEnrollment(false, true, true, [active])).toEqual({ next: 'offer', credential: active });
    expect(afterEnrollment(false, true, true, [])).toEqual({ next: 'issue' });
  });
});
