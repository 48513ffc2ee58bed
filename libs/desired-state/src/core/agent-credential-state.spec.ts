import { DesiredStateError } from './errors';
import { credentialKindName, credentialStateOf, credentialStateSql, credentialSummaryFromRow, parseCredentialStates } from './agent-credential-state';

const none = { active: false, retireAt: null, offered: false, revoked: false };
const iso = (v: unknown) => new Date(v as string).toISOString();

describe('credentialStateOf', () => {
  it.each([
    ['never issued', 'NONE', none],
    ['on offer, not switched to', 'OFFERED', { ...none, offered: true }],
    ['in use', 'ACTIVE', { ...none, active: true }],
    ['in use with a deadline and a newer one on offer', 'ROTATING', { ...none, active: true, offered: true, retireAt: '2026-01-08T00:00:00.000Z' }],
    ['revoked, nothing issued since', 'REVOKED', { ...none, revoked: true }],
    ['revoked once, enrolled again and on offer', 'OFFERED', { ...none, revoked: true, offered: true }],
    ['revoked once, enrolled again and switched', 'ACTIVE', { ...none, revoked: true, active: true }],
  ] as const)('%s: %s', (_, state, facts) => {
    expect(credentialStateOf(facts)).toBe(state);
  });
});

describe('parseCredentialStates', () => {
  it('takes names in any case, once each; nothing is no filter', () => {
    expect(parseCredentialStates(['rotating', 'OFFERED', 'Rotating'])).toEqual(['ROTATING', 'OFFERED']);
    expect(parseCredentialStates(undefined)).toEqual([]);
    expect(parseCredentialStates([])).toEqual([]);
    expect(parseCredentialStates('none')).toEqual(['NONE']);
  });

  it('refuses an unknown state with INVALID_ARGUMENT naming the valid ones', () => {
    expect(() => parseCredentialStates(['ACTIVE', 'superseded'])).toThrow(
      new DesiredStateError('INVALID_ARGUMENT', 'credential_state: unknown state "superseded"; one of NONE, OFFERED, ACTIVE, ROTATING, REVOKED'),
    );
    expect(() => parseCredentialStates([7])).toThrow(DesiredStateError);
  });
});

describe('credentialStateSql', () => {
  it('ORs the states, each over agent_credentials of the row', () => {
    const sql = credentialStateSql(['OFFERED', 'ROTATING']);
    expect(sql.split(') OR (')).toHaveLength(2);
    expect(sql).toContain(`c.state = 'active' AND c.retire_at IS NOT NULL`);
    expect(sql).toMatch(/c\.tenant_id = a\.tenant_id AND c\.instance_uid = a\.instance_uid/);
  });
});

describe('credentialSummaryFromRow', () => {
  it('names the kind and shows retire_time only while rotating', () => {
    const row = { credential_kind: 2, cred_active: true, cred_offered: true, cred_revoked: false, cred_retire_at: '2026-01-08T00:00:00Z' };
    expect(credentialSummaryFromRow(row, iso)).toEqual({ kind: 'OWN_CREDENTIAL', state: 'ROTATING', retireTime: '2026-01-08T00:00:00.000Z' });
    expect(credentialSummaryFromRow({ credential_kind: 1, cred_active: false, cred_offered: true, cred_revoked: false, cred_retire_at: null }, iso)).toEqual({
      kind: 'ENROLLMENT_TOKEN',
      state: 'OFFERED',
      retireTime: '',
    });
    expect(credentialSummaryFromRow({ credential_kind: 0 }, iso)).toEqual({ kind: '', state: 'NONE', retireTime: '' });
  });

  it('has no name for an unknown kind', () => {
    expect(credentialKindName(9)).toBe('');
  });
});
