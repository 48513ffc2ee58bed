import { canRevoke, labelsText, parseLabels, tokenRequest, tokenStateView, usesText } from './agent-token';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const form = (over: Partial<Parameters<typeof tokenRequest>[0]> = {}) => ({ name: 'fleet', expiresAt: '', maxUses: '', labels: '', ...over });

describe('parseLabels', () => {
  it('reads key=value per line or comma-separated, trimming', () => {
    expect(parseLabels('env=prod\n team/name = obs \n\n')).toEqual({ env: 'prod', 'team/name': 'obs' });
    expect(parseLabels('env=prod, region=eu')).toEqual({ env: 'prod', region: 'eu' });
    expect(parseLabels('zone=')).toEqual({ zone: '' });
    expect(parseLabels('')).toEqual({});
  });

  it.each([
    ['env', /write a label as key=value/],
    ['=prod', /write a label as key=value/],
    ['my env=prod', /a label key is made of letters/],
    ['env=a\nenv=b', /"env" is given twice/],
    [`${'k'.repeat(129)}=v`, /at most 128 characters/],
    [`env=${'v'.repeat(257)}`, /at most 256 characters/],
  ])('refuses %j', (text, message) => expect(() => parseLabels(text)).toThrow(message));
});

describe('tokenRequest', () => {
  it('is the name alone when nothing else is set', () => {
    expect(tokenRequest(form({ name: '  laptops ' }), NOW)).toEqual({ name: 'laptops' });
  });

  it('carries the expiry as RFC 3339 UTC, the use limit and the labels', () => {
    const req = tokenRequest(form({ expiresAt: '2026-07-01T12:30', maxUses: '500', labels: 'env=prod' }), NOW);
    expect(req.expireTime).toBe(new Date('2026-07-01T12:30').toISOString());
    expect(req).toMatchObject({ maxUses: 500, labels: { env: 'prod' } });
  });

  it.each([
    [{ expiresAt: '2026-05-01T00:00' }, /Expires: must be in the future/],
    [{ expiresAt: '2040-01-01T00:00' }, /at most 3650 days ahead/],
    [{ maxUses: '0' }, /Use limit: a whole number from 1 to 10,000,000/],
    [{ maxUses: '1.5' }, /Use limit/],
    [{ maxUses: '10000001' }, /Use limit/],
    [{ labels: 'bad key=x' }, /a label key is made of/],
  ])('refuses %j', (over, message) => expect(() => tokenRequest(form(over), NOW)).toThrow(message));
});

describe('how a token reads', () => {
  it('names each state with its tone', () => {
    expect(tokenStateView('AGENT_TOKEN_STATE_ACTIVE')).toEqual({ text: 'active', tone: 'ok' });
    expect(tokenStateView('AGENT_TOKEN_STATE_EXPIRED')).toEqual({ text: 'expired', tone: 'warn' });
    expect(tokenStateView('AGENT_TOKEN_STATE_EXHAUSTED')).toEqual({ text: 'used up', tone: 'warn' });
    expect(tokenStateView('AGENT_TOKEN_STATE_REVOKED')).toEqual({ text: 'revoked', tone: 'bad' });
  });

  it('shows uses against the limit, labels sorted, and revocation only while not revoked', () => {
    expect(usesText({ uses: 3, maxUses: 500 })).toBe('3 / 500');
    expect(usesText({ uses: 3, maxUses: 0 })).toBe('3');
    expect(labelsText({ region: 'eu', env: 'prod' })).toEqual(['env=prod', 'region=eu']);
    expect(canRevoke({ state: 'AGENT_TOKEN_STATE_EXPIRED', revokeTime: '' })).toBe(true);
    expect(canRevoke({ state: 'AGENT_TOKEN_STATE_REVOKED', revokeTime: '2026-01-01T00:00:00Z' })).toBe(false);
  });
});
