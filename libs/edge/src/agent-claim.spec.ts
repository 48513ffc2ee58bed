import { fleet } from '@opamp/contracts';
import { AgentCapabilities, encodeServerToAgent } from '@opamp/protocol';
import { claimVerdict, noteServerAssignedUid } from './agent-claim';
import { AgentTokenAuthority } from './agent-token.authority';
import type { ConnectionContext } from './edge-connection';

const R = fleet.v1.RefusalReason;
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('claimVerdict', () => {
  const directory = new AgentTokenAuthority();
  const enrollment = { tenantId: 't', tokenId: 'e1' };
  const own = { tenantId: 't', tokenId: 'c1', kind: 'agent' as const, uidHex: A, active: true };

  it('lets an agent credential speak for its own uid (taking over older connections) and for no other', () => {
    expect(claimVerdict(directory, own, A, 0, undefined)).toEqual({ ok: true, exclusive: false });
    const other = claimVerdict(directory, own, B, 0, undefined);
    expect(other.ok).toBe(false);
    expect(!other.ok && other.reason).toBe(R.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT);
    expect(claimVerdict(directory, own, B, 0, new Set([B]))).toEqual({ ok: true, exclusive: false });
  });

  it('lets a client certificate speak for the uid it was issued to (and one the server assigned), and for no other', () => {
    const cert = { tenantId: 't', tokenId: 'cert-1', kind: 'certificate' as const, uidHex: A, active: true };
    expect(claimVerdict(directory, cert, A, 0, undefined)).toEqual({ ok: true, exclusive: false });
    const other = claimVerdict(directory, cert, B, 0, undefined);
    expect(other).toMatchObject({ ok: false, reason: R.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT, metric: 'credential_of_another_agent' });
    expect(!other.ok && other.detail).toMatch(/client certificate belongs to another agent/);
    expect(claimVerdict(directory, cert, B, 0, new Set([B]))).toEqual({ ok: true, exclusive: false });
  });

  it('no longer lets the enrollment token speak for an agent whose certificate is in use', () => {
    const d = new AgentTokenAuthority();
    d.putDigest('f'.repeat(64), { tenantId: 't', tokenId: 'cert-1', kind: 'certificate', uidHex: A, active: true });
    expect(claimVerdict(d, enrollment, A, 0, undefined)).toMatchObject({ ok: false, reason: R.REFUSAL_REASON_AGENT_HAS_OWN_CREDENTIAL });
  });

  it('lets an enrollment token claim an agent exclusively, unless the agent holds its own credential', () => {
    const d = new AgentTokenAuthority();
    expect(claimVerdict(d, enrollment, A, 0, undefined)).toEqual({ ok: true, exclusive: true });
    d.putDigest('x', { ...own, active: false });
    expect(claimVerdict(d, enrollment, A, 0, undefined).ok).toBe(true);
    d.putDigest('x', own);
    const v = claimVerdict(d, enrollment, A, 0, undefined);
    expect(!v.ok && v.reason).toBe(R.REFUSAL_REASON_AGENT_HAS_OWN_CREDENTIAL);
    expect(claimVerdict(d, enrollment, B, 0, undefined).ok).toBe(true);
  });

  it('where the tenant requires per-agent credentials, admits on a token only agents that accept connection settings', () => {
    const d = new AgentTokenAuthority();
    d.setPolicy('t', true);
    const v = claimVerdict(d, enrollment, A, AgentCapabilities.ReportsStatus, undefined);
    expect(!v.ok && v.reason).toBe(R.REFUSAL_REASON_AGENT_CREDENTIAL_REQUIRED);
    expect(claimVerdict(d, enrollment, A, AgentCapabilities.AcceptsOpAMPConnectionSettings, undefined).ok).toBe(true);
    expect(claimVerdict(d, { ...enrollment, tenantId: 'other' }, A, 0, undefined).ok).toBe(true);
  });
});

describe('noteServerAssignedUid', () => {
  it('remembers a new instance_uid from a push, and ignores pushes without one or that do not decode', () => {
    const conn = {} as ConnectionContext;
    noteServerAssignedUid(conn, encodeServerToAgent({ instanceUid: Buffer.alloc(16, 1) }));
    noteServerAssignedUid(conn, Buffer.from([0xff, 0xff, 0xff]));
    expect(conn.serverAssigned).toBeUndefined();
    noteServerAssignedUid(conn, encodeServerToAgent({ instanceUid: Buffer.alloc(16, 1), agentIdentification: { newInstanceUid: Buffer.alloc(16, 0xbb) } }));
    expect([...(conn.serverAssigned ?? [])]).toEqual([B]);
  });
});
