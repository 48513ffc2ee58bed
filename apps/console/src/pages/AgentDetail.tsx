/**
 * One agent: description, capabilities by name, the component health tree,
 * remote configuration (the effective configuration the agent reports beside
 * the desired one rendered for it, as a diff), connection, package statuses,
 * commands, and deleting a disconnected agent.
 *
 * Agents that do not report their effective configuration (no
 * ReportsEffectiveConfig) are compared by hash instead: the "reported" side is
 * the stored version whose rendering has the hash the agent reports.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { useNow, usePoll } from '../hooks';
import { AGENT_CAPABILITIES, customMessageGate, restartGate } from '../lib/capabilities';
import { agentDisplayName, relativeTime, shortHex, utf8ToBase64 } from '../lib/format';
import type { Agent, AgentDetail as AgentData, CommandResult, ConfigFiles, ListConfigurationVersionsResponse, PackageStatus, RenderConfigurationResponse } from '../lib/types';
import { Link, navigate } from '../router';
import { Badge, ConfigStatusBadge, ConnectionBadge, HealthBadge, SyncBadge, type Tone } from '../components/badges';
import { DiffView, FilesView } from '../components/DiffView';
import { HealthTree } from '../components/HealthTree';
import { Card, ErrorBox, KeyValues, LiveIndicator, Missing, PageHeader } from '../components/ui';

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

interface ConfigComparison {
  desired?: RenderConfigurationResponse;
  desiredLabel: string;
  /** The effective configuration the agent reports, else the stored version whose rendering for this agent has the hash it reports. */
  reported?: { label: string; files: ConfigFiles };
  note: string;
}

/** Finds what the agent runs among the newest versions of its configuration (by rendered hash). */
async function compareConfig(api: ReturnType<typeof useApi>, agent: AgentData): Promise<ConfigComparison> {
  const effective = Object.keys(agent.effectiveConfig ?? {}).length > 0 ? { label: `effective (reported by the agent, hash ${shortHex(agent.effectiveConfigHash)})`, files: agent.effectiveConfig } : undefined;
  if (!agent.configurationName) return { desiredLabel: '', reported: effective, note: 'No assignment selects a configuration for this agent.' };
  const desired = await api.post<RenderConfigurationResponse>(`/configurations/${encodeURIComponent(agent.configurationName)}:render`, {
    version: agent.configurationVersion,
    instanceUid: agent.instanceUid,
  });
  const desiredLabel = `desired: ${agent.configurationName} v${agent.configurationVersion}`;
  if (effective) return { desired, desiredLabel, reported: effective, note: '' };
  const byHash = (version: number) => `reported: ${agent.configurationName} v${version} (hash ${shortHex(agent.remoteConfigHash)})`;
  if (!agent.remoteConfigHash) return { desired, desiredLabel, note: 'The agent reports no remote-config hash.' };
  if (agent.remoteConfigHash === desired.configHash) return { desired, desiredLabel, reported: { label: byHash(agent.configurationVersion), files: desired.files }, note: '' };
  const { versions } = await api.get<ListConfigurationVersionsResponse>(`/configurations/${encodeURIComponent(agent.configurationName)}/versions`);
  for (const v of versions.slice(0, 20)) {
    if (v.version === agent.configurationVersion) continue;
    const r = await api.post<RenderConfigurationResponse>(`/configurations/${encodeURIComponent(agent.configurationName)}:render`, {
      version: v.version,
      instanceUid: agent.instanceUid,
    });
    if (r.configHash === agent.remoteConfigHash) return { desired, desiredLabel, reported: { label: byHash(v.version), files: r.files }, note: '' };
  }
  return {
    desired,
    desiredLabel,
    note: `The hash the agent reports (${shortHex(agent.remoteConfigHash, 12)}) matches no recent version of ${agent.configurationName}: it runs another configuration.`,
  };
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

const PACKAGE_STATE_TONES: Record<string, Tone> = {
  PACKAGE_STATE_INSTALLED: 'ok',
  PACKAGE_STATE_INSTALL_FAILED: 'bad',
  PACKAGE_STATE_INSTALLING: 'info',
  PACKAGE_STATE_DOWNLOADING: 'info',
  PACKAGE_STATE_INSTALL_PENDING: 'muted',
};

function versionCell(version: string, hash: string) {
  if (!version && !hash) return '—';
  return (
    <>
      {version || <span className="muted">no version</span>} {hash && <span className="mono muted small">{shortHex(hash)}</span>}
    </>
  );
}

function Packages({ agent, reports }: { agent: AgentData; reports: boolean }) {
  const packages: PackageStatus[] = agent.packageStatuses ?? [];
  return (
    <div data-testid="packages">
      {agent.packageStatusesError && <div className="error-box">{agent.packageStatusesError}</div>}
      {packages.length === 0 ? (
        <p className="muted">
          {reports ? 'No package statuses reported.' : 'The agent does not report package statuses (no ReportsPackageStatuses).'}{' '}
          {reports ? <Badge tone="info">agent reports them</Badge> : <Badge tone="muted">agent does not report them</Badge>}
        </p>
      ) : (
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Package</th>
              <th>Agent has</th>
              <th>Server offered</th>
              <th>Status</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {packages.map((p) => (
              <tr key={p.name} data-testid="package-row">
                <td className="mono">{p.name}</td>
                <td>{versionCell(p.agentHasVersion, p.agentHasHash)}</td>
                <td>{versionCell(p.serverOfferedVersion, p.serverOfferedHash)}</td>
                <td>
                  <Badge tone={PACKAGE_STATE_TONES[p.status] ?? 'muted'}>{p.status.replace('PACKAGE_STATE_', '').replace(/_/g, ' ').toLowerCase()}</Badge>
                </td>
                <td className="text-bad">{p.errorMessage}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function AgentDetail({ uid }: { uid: string }) {
  const api = useApi();
  const now = useNow();
  const agent = usePoll((signal) => api.get<AgentData>(`/agents/${encodeURIComponent(uid)}`, undefined, signal), 3000, [uid]);
  const a = agent.data;
  const configKey = a ? `${a.configurationName}|${a.configurationVersion}|${a.remoteConfigHash}|${a.effectiveConfigHash}` : '';
  const [cmp, setCmp] = useState<{ key: string; value?: ConfigComparison; error?: unknown } | null>(null);

  useEffect(() => {
    if (!a) return;
    let stale = false;
    compareConfig(api, a).then(
      (value) => !stale && setCmp({ key: configKey, value }),
      (error: unknown) => !stale && setCmp({ key: configKey, error }),
    );
    return () => {
      stale = true;
    };
  }, [api, configKey]); // a is read for the key's values only

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
            <HealthBadge health={a.health} />
            <ConfigStatusBadge status={a.remoteConfigStatus} error={a.remoteConfigError} />
            <SyncBadge agent={a} />
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
      <Card title="Remote configuration">
        <KeyValues
          rows={[
            ['Assigned', a.configurationName ? <Link to={`/configurations/${encodeURIComponent(a.configurationName)}`}>{`${a.configurationName} v${a.configurationVersion}`}</Link> : 'no assignment matches'],
            ['Desired hash', <span className="mono">{shortHex(a.desiredConfigHash, 16)}</span>],
            ['Reported status', <ConfigStatusBadge key="s" status={a.remoteConfigStatus} />],
            ['Reported hash', <span className="mono">{shortHex(a.remoteConfigHash, 16)}</span>],
            ['In sync', <SyncBadge key="y" agent={a} />],
            ...(a.notSentReason ? ([['Not sent because', <span className="text-bad">{a.notSentReason}</span>]] as [string, React.ReactNode][]) : []),
            ...(a.remoteConfigError ? ([['Agent error', <span className="text-bad" data-testid="remote-config-error">{a.remoteConfigError}</span>]] as [string, React.ReactNode][]) : []),
          ]}
        />
        <h3>{cmp?.value?.reported?.label.startsWith('effective') ? 'Effective vs desired' : 'Reported vs desired'}</h3>
        {!cmp || cmp.key !== configKey ? (
          <p className="muted">Rendering…</p>
        ) : cmp.error ? (
          <ErrorBox error={cmp.error} title="Could not render the desired configuration" />
        ) : cmp.value?.desired && cmp.value.reported ? (
          <DiffView before={cmp.value.reported.files} after={cmp.value.desired.files} beforeLabel={cmp.value.reported.label} afterLabel={cmp.value.desiredLabel} />
        ) : (
          <>
            {cmp.value?.note && <p className="muted">{cmp.value.note}</p>}
            {cmp.value?.desired && (
              <>
                {!cmp.value.desired.sendable && <div className="error-box">Not sendable to this agent: {cmp.value.desired.reason}</div>}
                <h3>Desired files, rendered for this agent</h3>
                <FilesView files={cmp.value.desired.files} />
              </>
            )}
            {cmp.value?.reported && (
              <div data-testid="effective-config">
                <h3>{cmp.value.reported.label}</h3>
                <FilesView files={cmp.value.reported.files} />
              </div>
            )}
          </>
        )}
        {!a.effectiveConfigHash && (
          <Missing>
            {has.has('ReportsEffectiveConfig')
              ? 'The agent has not reported its effective configuration yet: the “reported” side is the stored version whose rendering has the hash it reports.'
              : 'The agent does not report its effective configuration (no ReportsEffectiveConfig): the “reported” side is the stored version whose rendering has the hash it reports.'}
          </Missing>
        )}
      </Card>
      <Card title="Packages">
        <Packages agent={a} reports={has.has('ReportsPackageStatuses')} />
      </Card>
    </div>
  );
}
