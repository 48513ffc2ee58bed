/**
 * The agent page's Identity section: how the agent enrolled (token, when, how
 * many times), its own credentials with their states and times
 * (ListAgentCredentials; never a secret), and Rotate and Revoke
 * (RotateAgentCredentials, RevokeAgentCredentials for this agent; revoking
 * asks for a reason and a confirmation).
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { useNow, usePoll } from '../hooks';
import {
  credentialKindText,
  credentialRecordTone,
  MAX_REVOKE_REASON,
  revokeGate,
  revokeReasonProblem,
  rotateGate,
  type AgentCredential,
  type AgentCredentialsChange,
  type ListAgentCredentialsResponse,
} from '../lib/agent-credential';
import { agentDisplayName, relativeTime, shortHex } from '../lib/format';
import type { Agent } from '../lib/types';
import { Badge, CredentialBadge } from '../components/badges';
import { Card, ErrorBox, KeyValues } from '../components/ui';

function When({ iso, now }: { iso: string; now: number }) {
  if (!iso) return <span className="muted">—</span>;
  return <span title={iso}>{relativeTime(iso, now)}</span>;
}

function CredentialsTable({ credentials, now }: { credentials: AgentCredential[]; now: number }) {
  if (credentials.length === 0) return <p className="muted">No credential of its own issued.</p>;
  return (
    <table className="table table-compact" data-testid="credentials-table">
      <thead>
        <tr>
          <th>Credential</th>
          <th>State</th>
          <th>Issued</th>
          <th>Offered</th>
          <th>In use since</th>
          <th>Accepted until</th>
          <th>Revoked</th>
        </tr>
      </thead>
      <tbody>
        {credentials.map((c) => (
          <tr key={c.id} data-testid="credential-row" data-state={c.state}>
            <td className="mono" title={c.id}>
              {shortHex(c.id)}
            </td>
            <td>
              <Badge tone={credentialRecordTone(c.state)}>{c.state.toLowerCase()}</Badge>
            </td>
            <td>
              <When iso={c.createTime} now={now} />
            </td>
            <td>
              <When iso={c.offerTime} now={now} />
            </td>
            <td>
              <When iso={c.activateTime} now={now} />
            </td>
            <td>
              <When iso={c.state === 'ACTIVE' ? c.retireTime : ''} now={now} />
            </td>
            <td>
              <When iso={c.revokeTime} now={now} />
              {c.revokeReason && (
                <div className="small muted" data-testid="revoke-reason">
                  {c.revokeReason}
                </div>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** `onChanged`: reload the agent (its credential summary) after a rotation or revocation. */
export function AgentIdentity({ agent, onChanged }: { agent: Agent; onChanged: () => void }) {
  const api = useApi();
  const now = useNow();
  const uid = agent.instanceUid;
  const listed = usePoll((signal) => api.get<ListAgentCredentialsResponse>(`/agents/${encodeURIComponent(uid)}/credentials`, undefined, signal), 3000, [uid]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [revoking, setRevoking] = useState(false);
  const [reason, setReason] = useState('');

  const credentials = listed.data?.credentials ?? [];
  const enrollment = listed.data?.enrollment;
  const rotate = rotateGate(agent.credential);
  const revoke = revokeGate(credentials);
  const reasonProblem = revokeReasonProblem(reason);
  const name = agentDisplayName(agent.labels) || uid;

  const change = async (what: string, path: string, body: Record<string, string>) => {
    setBusy(true);
    setResult(null);
    try {
      const r = await api.post<AgentCredentialsChange>(path, body);
      setResult({ ok: true, text: `${what}: ${r.credentials} credential${r.credentials === 1 ? '' : 's'}.` });
      setRevoking(false);
      setReason('');
      listed.refresh();
      onChanged();
    } catch (err) {
      setResult({ ok: false, text: `${what} failed: ${errorMessage(err)}` });
    } finally {
      setBusy(false);
    }
  };

  const submitRevoke = (e: FormEvent) => {
    e.preventDefault();
    if (reasonProblem) return;
    if (!window.confirm(`Revoke the credentials of agent ${name}? Its connections close on every gateway and it is refused until it enrolls again.`)) return;
    void change('Revoked', '/agent-credentials:revoke', { instanceUid: uid, reason: reason.trim() });
  };

  return (
    <Card title="Identity">
      <div data-testid="identity">
        <KeyValues
          rows={[
            [
              'Credential',
              <span key="c" data-testid="identity-state" data-state={agent.credential?.state ?? ''}>
                <CredentialBadge agent={agent} />
              </span>,
            ],
            ['Last admitted with', <span data-testid="credential-kind">{agent.credential ? credentialKindText(agent.credential.kind) : 'unknown'}</span>],
            ...(agent.credential?.state === 'ROTATING'
              ? ([['Old credential accepted until', <When key="r" iso={agent.credential.retireTime} now={now} />]] as [string, ReactNode][])
              : []),
            [
              'Enrollment token',
              enrollment ? (
                enrollment.enrollmentTokenId ? (
                  <span className="mono" data-testid="enrollment-token">
                    {enrollment.enrollmentTokenId}
                  </span>
                ) : (
                  <span className="muted">a static token of the server</span>
                )
              ) : (
                <span className="muted">not enrolled</span>
              ),
            ],
            ['Enrolled', enrollment ? <When iso={enrollment.enrollTime} now={now} /> : '—'],
            [
              'Enrollments',
              enrollment ? (
                <span data-testid="enrollments">
                  {enrollment.enrollments}
                  {enrollment.enrollments > 1 ? <span className="muted"> (enrolled again after a revocation)</span> : null}
                </span>
              ) : (
                '—'
              ),
            ],
          ]}
        />
        <ErrorBox error={listed.error} title="Could not list its credentials" />
        <h3>Credentials</h3>
        <CredentialsTable credentials={credentials} now={now} />
        <div className="button-row">
          <span className="with-reason">
            <button
              className="btn"
              data-testid="rotate-credential"
              disabled={!rotate.ok || busy}
              title={rotate.reason || 'Offer a new credential; the old one stays accepted until the agent switches'}
              onClick={() => {
                if (window.confirm(`Rotate the credential of agent ${name}? A new one is offered; the old one is accepted until the agent switches or the deadline passes.`)) {
                  void change('Rotated', '/agent-credentials:rotate', { instanceUid: uid });
                }
              }}
            >
              Rotate credential
            </button>
            {!rotate.ok && (
              <span className="reason" data-testid="rotate-reason">
                {rotate.reason}
              </span>
            )}
          </span>
          <span className="with-reason">
            <button className="btn btn-danger" data-testid="revoke-credential" disabled={!revoke.ok || busy} title={revoke.reason || 'Revoke its credentials'} onClick={() => setRevoking((r) => !r)}>
              Revoke…
            </button>
            {!revoke.ok && listed.data && (
              <span className="reason" data-testid="revoke-gate">
                {revoke.reason}
              </span>
            )}
          </span>
        </div>
        {revoking && revoke.ok && (
          <form className="form-grid" onSubmit={submitRevoke} data-testid="revoke-form">
            <label className="field field-wide">
              <span>Reason (kept in the audit log)</span>
              <input data-testid="revoke-reason-input" value={reason} maxLength={MAX_REVOKE_REASON + 1} onChange={(e) => setReason(e.target.value)} placeholder="e.g. host decommissioned" />
            </label>
            {reason !== '' && reasonProblem && <div className="reason">{reasonProblem}</div>}
            <div>
              <button className="btn btn-danger" type="submit" data-testid="revoke-confirm" disabled={busy || reasonProblem !== ''}>
                Revoke credentials
              </button>
            </div>
          </form>
        )}
        {result && (
          <div className={result.ok ? 'notice notice-ok' : 'error-box'} data-testid="identity-result">
            {result.text}
          </div>
        )}
      </div>
    </Card>
  );
}
