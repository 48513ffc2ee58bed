/**
 * One agent: description, capabilities by name, the component health tree,
 * connection, package statuses, commands, deleting a disconnected agent, its
 * identity (AgentIdentity) and its remote configuration (AgentRemoteConfig).
 */
import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { useNow, usePoll } from '../hooks';
import { AGENT_CAPABILITIES, customMessageGate, restartGate } from '../lib/capabilities';
import { agentDisplayName, relativeTime, utf8ToBase64 } from '../lib/format';
import type { Agent, AgentDetail as AgentData, CommandResult } from '../lib/types';
import { navigate } from '../router';
import { ConfigStatusBadge, ConnectionBadge, CredentialBadge, HealthBadge, SyncBadge } from '../components/badges';
import { AgentIdentity } from './AgentIdentity';
import { AgentPackages } from '../components/AgentPackages';
import { AgentOwnMetrics } from '../components/AgentOwnMetrics';
import { RemoteConfig } from './AgentRemoteConfig';
import { HealthTree } from '../components/HealthTree';
import { Card, ErrorBox, KeyValues, LiveIndicator, PageHeader } from '../components/ui';

function Attributes({ attrs }: { attrs: Record<string, string> }) {
  const entries = Object.entries(attrs).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p className="muted">None reported.</p>;
  return (
    <table className="table table-compact">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <td className="mono">{k}</td>
            <td className="mono">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Commands({ agent }: { agent: Agent }) {
  const api = useApi();
  const restart = restartGate(agent);
  const custom = customMessageGate(agent);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [showCustom, setShowCustom] = useState(false);
  const [capability, setCapability] = useState(agent.customCapabilities[0] ?? '');
  const [type, setType] = useState('');
  const [data, setData] = useState('');

  const run = async (what: string, call: () => Promise<CommandResult>) => {
    setBusy(true);
    setResult(null);
    try {
      const r = await call();
      setResult({ ok: true, text: `${what}: ${r.delivery === 'published' ? 'sent to the agent now' : 'pending until the agent polls'} (${r.delivery}).` });
    } catch (err) {
      setResult({ ok: false, text: `${what} failed: ${errorMessage(err)}` });
    } finally {
      setBusy(false);
    }
  };

  const sendCustom = (e: FormEvent) => {
    e.preventDefault();
    void run('Custom message', () =>
      api.post<CommandResult>(`/agents/${agent.instanceUid}/custom-messages`, { capability, type, data: utf8ToBase64(data) }),
    );
  };

  return (
    <Card title="Commands">
      <div className="button-row">
        <span className="with-reason">
          <button
            className="btn btn-danger"
            data-testid="restart"
            disabled={!restart.ok || busy}
            title={restart.reason || 'Ask the agent to restart'}
            onClick={() => {
              if (window.confirm(`Restart agent ${agentDisplayName(agent.labels) || agent.instanceUid}?`)) void run('Restart', () => api.post<CommandResult>(`/agents/${agent.instanceUid}/restart`, {}));
            }}
          >
            Restart agent
          </button>
          {!restart.ok && (
            <span className="reason" data-testid="restart-reason">
              {restart.reason}
            </span>
          )}
        </span>
        <span className="with-reason">
          <button className="btn" data-testid="custom-message" disabled={!custom.ok || busy} title={custom.reason || 'Send a custom message'} onClick={() => setShowCustom((s) => !s)}>
            Custom message…
          </button>
          {!custom.ok && (
            <span className="reason" data-testid="custom-message-reason">
              {custom.reason}
            </span>
          )}
        </span>
        <DeleteAgent agent={agent} />
      </div>
      {showCustom && custom.ok && (
        <form className="form-grid" onSubmit={sendCustom}>
          <label className="field">
            <span>Capability</span>
            <select value={capability} onChange={(e) => setCapability(e.target.value)}>
              {agent.customCapabilities.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Type</span>
            <input value={type} onChange={(e) => setType(e.target.value)} placeholder="message type" required />
          </label>
          <label className="field field-wide">
            <span>Data (text, sent as bytes)</span>
            <textarea rows={3} value={data} onChange={(e) => setData(e.target.value)} />
          </label>
          <div>
            <button className="btn btn-primary" type="submit" disabled={busy || !type}>
              Send
            </button>
          </div>
        </form>
      )}
      {result && (
        <div className={result.ok ? 'notice notice-ok' : 'error-box'} data-testid="command-result">
          {result.text}
        </div>
      )}
    </Card>
  );
}

/** Why an agent cannot be deleted now ('' = it can): the server refuses connected agents, which would be back with their next message. */
export function deleteAgentBlocker(agent: Pick<Agent, 'connected'>): string {
  return agent.connected ? 'The agent is connected: it would be back with its next message. Stop it or revoke its token, then delete it.' : '';
}

function DeleteAgent({ agent }: { agent: Agent }) {
  const api = useApi();
  const blocker = deleteAgentBlocker(agent);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const remove = async () => {
    if (!window.confirm(`Delete agent ${agentDisplayName(agent.labels) || agent.instanceUid}? Its record and state go; the audit log keeps its history.`)) return;
    setBusy(true);
    setError('');
    try {
      await api.deleteAgent(agent.instanceUid);
      navigate('/agents');
    } catch (err) {
      setError(`Delete failed: ${errorMessage(err)}`);
      setBusy(false);
    }
  };
  return (
    <>
      <span className="with-reason">
        <button className="btn btn-danger" data-testid="delete-agent" disabled={blocker !== '' || busy} title={blocker || 'Remove this agent and its state'} onClick={() => void remove()}>
          Delete agent
        </button>
        {blocker && (
          <span className="reason" data-testid="delete-agent-reason">
            {blocker}
          </span>
        )}
      </span>
      {error && (
        <div className="error-box" data-testid="delete-agent-error">
          {error}
        </div>
      )}
    </>
  );
}

export function AgentDetail({ uid }: { uid: string }) {
  const api = useApi();
  const now = useNow();
  const agent = usePoll((signal) => api.get<AgentData>(`/agents/${encodeURIComponent(uid)}`, undefined, signal), 3000, [uid]);
  const a = agent.data;
  if (!a) {
    return (
      <div>
        <PageHeader title="Agent" subtitle={<span className="mono">{uid}</span>} />
        {agent.error ? <ErrorBox error={agent.error} /> : <p className="muted">Loading…</p>}
      </div>
    );
  }

  const has = new Set(a.capabilityNames);
  return (
    <div>
      <PageHeader
        title={agentDisplayName(a.labels) || 'Agent'}
        subtitle={
          <>
            <span className="mono">{a.instanceUid}</span> · <LiveIndicator updatedAt={agent.updatedAt} now={now} error={agent.error} />
          </>
        }
        actions={
          <div className="chips">
            <ConnectionBadge agent={a} />
            <HealthBadge health={a.health} lastKnown={a.lastKnownHealth} />
            <ConfigStatusBadge status={a.remoteConfigStatus} error={a.remoteConfigError} />
            <SyncBadge agent={a} />
            <CredentialBadge agent={a} labelled />
          </div>
        }
      />
      <div className="grid-2">
        <Card title="Description">
          <h3>Identifying attributes</h3>
          <Attributes attrs={a.identifyingAttributes} />
          <h3>Non-identifying attributes</h3>
          <Attributes attrs={a.nonIdentifyingAttributes} />
        </Card>
        <div className="stack">
          <Commands agent={a} />
          <Card title="Connection">
            <KeyValues
              rows={[
                ['State', <ConnectionBadge key="c" agent={a} />],
                ['Gateway', a.gatewayId ? <span className="mono">{a.gatewayId}</span> : '—'],
                ['Transport', a.transport || '—'],
                [
                  'Connected since',
                  a.connectedSince ? (
                    <span title={a.connectedSince} data-testid="connected-since">
                      {new Date(a.connectedSince).toLocaleString()} ({relativeTime(a.connectedSince, now)})
                    </span>
                  ) : (
                    '—'
                  ),
                ],
                ['Last seen', <span title={a.lastSeenTime}>{relativeTime(a.lastSeenTime, now)}</span>],
                ['Record updated', <span title={a.updateTime}>{relativeTime(a.updateTime, now)}</span>],
              ]}
            />
          </Card>
          <Card title="Health">
            <KeyValues rows={[['Overall', <HealthBadge key="h" health={a.health} />]]} />
            {a.componentHealth ? (
              <HealthTree root={a.componentHealth} now={now} />
            ) : (
              <p className="muted">{has.has('ReportsHealth') ? 'No health reported yet.' : 'The agent does not report health (no ReportsHealth).'}</p>
            )}
          </Card>
        </div>
      </div>
      <AgentOwnMetrics uid={a.instanceUid} reports={has.has('ReportsOwnMetrics')} />
      <Card title="Capabilities">
        <div className="capabilities" data-testid="capabilities">
          {AGENT_CAPABILITIES.map((c) => (
            <div key={c.name} className={`capability ${has.has(c.name) ? 'capability-on' : 'capability-off'}`} title={c.description}>
              <span>{has.has(c.name) ? '✓' : '—'}</span> {c.name}
            </div>
          ))}
          {a.capabilityNames
            .filter((n) => !AGENT_CAPABILITIES.some((c) => c.name === n))
            .map((n) => (
              <div key={n} className="capability capability-on">
                <span>✓</span> {n}
              </div>
            ))}
        </div>
        <h3>Custom capabilities</h3>
        {a.customCapabilities.length > 0 ? (
          <div className="chips">
            {a.customCapabilities.map((c) => (
              <span className="chip" key={c}>
                {c}
              </span>
            ))}
          </div>
        ) : (
          <p className="muted">None declared.</p>
        )}
      </Card>
      <AgentIdentity agent={a} onChanged={agent.refresh} />
      <RemoteConfig agent={a} />
      <AgentPackages agent={a} reports={has.has('ReportsPackageStatuses')} accepts={has.has('AcceptsPackages')} />
    </div>
  );
}
