/** One configuration: its files, versions with diffs, a new version in the editor, and the assignments that select agents for it. */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { useDebounced, usePoll } from '../hooks';
import { assignmentSelectorGate } from '../lib/assignment-form';
import { checkResourceName } from '../lib/config-errors';
import { agentDisplayName, agentInstanceId, relativeTime, shortHex, shortUid } from '../lib/format';
import type { Assignment, ConfigFiles, Configuration, ListAgentsResponse, ListAssignmentsResponse, ListConfigurationVersionsResponse } from '../lib/types';
import { Link, navigate, useLocation } from '../router';
import { Badge, ConfigStatusBadge, ConnectionBadge, SyncBadge } from '../components/badges';
import { ConfigEditor, type Validity } from '../components/ConfigEditor';
import { DiffView, FilesView } from '../components/DiffView';
import { Card, ErrorBox, KeyValues, PageHeader } from '../components/ui';
import { formatName } from './Configurations';
import { ConfigurationOwnMetrics } from '../components/ConfigurationOwnMetrics';

const TABS = [
  ['files', 'Files'],
  ['versions', 'Versions & diff'],
  ['edit', 'Edit'],
  ['assignments', 'Assignments & agents'],
  ['telemetry', 'Own telemetry'],
] as const;
type Tab = (typeof TABS)[number][0];

function Versions({ versions }: { versions: Configuration[] }) {
  const newest = versions[0]?.version ?? 0;
  const [a, setA] = useState(Math.max(1, newest - 1));
  const [b, setB] = useState(newest);
  const va = versions.find((v) => v.version === a);
  const vb = versions.find((v) => v.version === b);
  return (
    <>
      <Card title="Versions">
        <table className="table" data-testid="versions-table">
          <thead>
            <tr>
              <th>Version</th>
              <th>Content hash</th>
              <th>Files</th>
              <th>Created by</th>
              <th>Created</th>
              <th>Compare</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <td>v{v.version}</td>
                <td className="mono">{shortHex(v.contentHash, 12)}</td>
                <td className="mono small">{Object.keys(v.files).sort().join(', ')}</td>
                <td className="mono small">{v.createdBy}</td>
                <td title={v.createTime}>{relativeTime(v.createTime)}</td>
                <td>
                  <label className="check">
                    <input type="radio" name="a" checked={a === v.version} onChange={() => setA(v.version)} /> old
                  </label>{' '}
                  <label className="check">
                    <input type="radio" name="b" checked={b === v.version} onChange={() => setB(v.version)} /> new
                  </label>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title={`Diff v${a} → v${b}`}>
        {va && vb ? <DiffView before={va.files} after={vb.files} beforeLabel={`v${a}`} afterLabel={`v${b}`} /> : <p className="muted">Pick two versions.</p>}
      </Card>
    </>
  );
}

function Edit({ config, onSaved }: { config: Configuration; onSaved: () => void }) {
  const api = useApi();
  const [files, setFiles] = useState<ConfigFiles>(config.files);
  const [description, setDescription] = useState(config.description);
  const [validity, setValidity] = useState<Validity>({ state: 'checking', errors: [], contentHash: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const unchanged = validity.contentHash === config.contentHash && description === config.description;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.put<Configuration>(`/configurations/${encodeURIComponent(config.name)}`, { description, files });
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={save}>
      <Card title={`New version (v${config.version + 1}) from v${config.version}`}>
        <label className="field">
          <span>Description</span>
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <ConfigEditor files={files} onChange={setFiles} format={config.format} onValidity={setValidity} />
        {validity.state === 'valid' && !unchanged && (
          <details className="pending-diff" open>
            <summary>Changes against v{config.version}</summary>
            <DiffView before={config.files} after={files} beforeLabel={`v${config.version}`} afterLabel="editor" />
          </details>
        )}
        <ErrorBox error={error} title="Not saved" />
        <div className="button-row">
          <button className="btn btn-primary" type="submit" data-testid="save-version" disabled={busy || validity.state !== 'valid' || unchanged}>
            {busy ? 'Saving…' : `Save as v${config.version + 1}`}
          </button>
          {unchanged && validity.state === 'valid' && <span className="reason">No changes.</span>}
          {validity.state === 'invalid' && <span className="reason">Fix the validation errors to save.</span>}
        </div>
      </Card>
    </form>
  );
}

function MatchingAgents({ selector }: { selector: string }) {
  const api = useApi();
  const debounced = useDebounced(selector, 400);
  const agents = usePoll((s) => api.get<ListAgentsResponse>('/agents', { selector: debounced, pageSize: 100 }, s), 3000, [debounced]);
  const list = agents.data?.agents ?? [];
  return (
    <div data-testid="matching-agents">
      <div className="card-subhead">
        <strong>
          Agents the selector matches: {agents.error ? '—' : `${list.length}${agents.data?.nextPageToken ? '+' : ''}`}
        </strong>{' '}
        <Link to={`/agents?selector=${encodeURIComponent(debounced)}`}>open in agents table</Link>
      </div>
      <ErrorBox error={agents.error} title="Selector" />
      {list.length > 0 && (
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Connection</th>
              <th>Gets</th>
              <th>Status</th>
              <th>Sync</th>
            </tr>
          </thead>
          <tbody>
            {list.slice(0, 20).map((a) => (
              <tr key={a.instanceUid} data-testid="matching-agent">
                <td>
                  <Link to={`/agents/${a.instanceUid}`}>{agentDisplayName(a.labels) || shortUid(a.instanceUid)}</Link>{' '}
                  <span className="mono muted small" title={`instance UID ${a.instanceUid}`}>
                    {agentInstanceId(a).key === 'uid' ? shortUid(a.instanceUid) : agentInstanceId(a).value}
                  </span>
                </td>
                <td>
                  <ConnectionBadge agent={a} />
                </td>
                <td>{a.configurationName ? `${a.configurationName} v${a.configurationVersion}` : '—'}</td>
                <td>
                  <ConfigStatusBadge status={a.remoteConfigStatus} error={a.remoteConfigError} />
                </td>
                <td>
                  <SyncBadge agent={a} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.length > 20 && <p className="muted small">First 20 shown.</p>}
    </div>
  );
}

function Assignments({ config }: { config: Configuration }) {
  const api = useApi();
  const all = usePoll((s) => api.get<ListAssignmentsResponse>('/assignments', undefined, s), 10000, []);
  const mine = (all.data?.assignments ?? []).filter((a) => a.configurationName === config.name);
  const [editing, setEditing] = useState<string | null>(null);
  const [name, setName] = useState(`${config.name}`);
  const [selector, setSelector] = useState('');
  const [allAgents, setAllAgents] = useState(false);
  const [priority, setPriority] = useState(0);
  const [pinned, setPinned] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');

  const edit = (a: Assignment) => {
    setEditing(a.name);
    setName(a.name);
    setSelector(a.selector);
    setAllAgents(a.selector.trim() === '');
    setPriority(a.priority);
    setPinned(a.pinnedVersion);
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone('');
    const body = { name, configurationName: config.name, selector, priority, pinnedVersion: pinned };
    try {
      if (editing) await api.put(`/assignments/${encodeURIComponent(editing)}`, body);
      else await api.post('/assignments', body);
      setDone(`Assignment ${name} saved: matching agents receive ${config.name} ${pinned ? `v${pinned}` : '(latest)'} now.`);
      setEditing(null);
      all.refresh();
    } catch (err) {
      setError(err);
    }
  };

  const remove = async (a: Assignment) => {
    if (!window.confirm(`Delete assignment ${a.name}? Its agents stop getting ${config.name} (unless another assignment selects them).`)) return;
    try {
      await api.delete(`/assignments/${encodeURIComponent(a.name)}`);
      all.refresh();
    } catch (err) {
      setError(err);
    }
  };

  const nameProblem = checkResourceName(name);
  const selectorGate = assignmentSelectorGate(selector, allAgents);
  return (
    <>
      <Card title="Assignments of this configuration">
        <ErrorBox error={all.error} />
        {mine.length === 0 ? (
          <p className="muted">No assignment uses {config.name}: no agent gets it.</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Selector</th>
                <th>Version</th>
                <th className="num">Priority</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {mine.map((a) => (
                <tr key={a.name}>
                  <td>{a.name}</td>
                  <td>
                    <Link className="mono" to={`/agents?selector=${encodeURIComponent(a.selector)}`}>
                      {a.selector || '(all agents)'}
                    </Link>
                  </td>
                  <td>{a.pinnedVersion ? `pinned v${a.pinnedVersion}` : 'latest'}</td>
                  <td className="num">{a.priority}</td>
                  <td className="right">
                    <button className="btn btn-small" onClick={() => edit(a)}>
                      Edit
                    </button>{' '}
                    <button className="btn btn-small btn-danger-outline" onClick={() => void remove(a)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title={editing ? `Edit assignment ${editing}` : 'Assign to agents'}>
        <form className="form-grid" onSubmit={save}>
          <label className="field">
            <span>Assignment name</span>
            <input data-testid="assignment-name" value={name} onChange={(e) => setName(e.target.value)} disabled={!!editing} />
            {name && nameProblem && <small className="text-bad">{nameProblem}</small>}
          </label>
          <div className="field field-wide">
            <span>Label selector</span>
            <input data-testid="assignment-selector" aria-label="Label selector" className="mono" value={selector} onChange={(e) => setSelector(e.target.value)} placeholder="env=prod,region in (eu,us)" />
            {selector.trim() === '' && (
              <label className="check">
                <input type="checkbox" data-testid="assignment-all-agents" checked={allAgents} onChange={(e) => setAllAgents(e.target.checked)} /> all agents
              </label>
            )}
            {selectorGate.reason && (
              <small className={selectorGate.ok ? 'muted' : 'text-bad'} data-testid="assignment-selector-reason">
                {selectorGate.reason}
              </small>
            )}
          </div>
          <label className="field">
            <span>Priority (higher wins)</span>
            <input type="number" value={priority} onChange={(e) => setPriority(Number(e.target.value))} />
          </label>
          <label className="field">
            <span>Version</span>
            <select value={pinned} onChange={(e) => setPinned(Number(e.target.value))}>
              <option value={0}>latest (follows new versions)</option>
              {Array.from({ length: config.version }, (_, i) => config.version - i).map((v) => (
                <option key={v} value={v}>
                  pin v{v}
                </option>
              ))}
            </select>
          </label>
          <div className="button-row field-wide">
            <button className="btn btn-primary" type="submit" data-testid="save-assignment" disabled={!!nameProblem || !selectorGate.ok}>
              {editing ? 'Save assignment' : 'Assign'}
            </button>
            {editing && (
              <button className="btn" type="button" onClick={() => setEditing(null)}>
                Cancel
              </button>
            )}
          </div>
        </form>
        <ErrorBox error={error} title="Not saved" />
        {done && (
          <div className="notice notice-ok" data-testid="assignment-saved">
            {done}
          </div>
        )}
        {selectorGate.ok ? <MatchingAgents selector={selector} /> : <p className="muted small">The agents the selector matches are listed here.</p>}
      </Card>
    </>
  );
}

export function ConfigurationDetail({ name }: { name: string }) {
  const api = useApi();
  const { search } = useLocation();
  const tab = (new URLSearchParams(search).get('tab') ?? 'files') as Tab;
  const versions = usePoll((s) => api.get<ListConfigurationVersionsResponse>(`/configurations/${encodeURIComponent(name)}/versions`, undefined, s), 0, [name]);
  const list = versions.data?.versions ?? [];
  const latest = list[0];
  const [shown, setShown] = useState(0);
  const shownVersion = useMemo(() => list.find((v) => v.version === shown) ?? latest, [list, shown, latest]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setShown(0), [name]);

  const setTab = (t: Tab) => navigate(`/configurations/${encodeURIComponent(name)}?tab=${t}`, { replace: true });
  const remove = async () => {
    if (!window.confirm(`Delete configuration ${name} and all its versions?`)) return;
    try {
      await api.delete(`/configurations/${encodeURIComponent(name)}`);
      navigate('/configurations');
    } catch (err) {
      setError(err);
    }
  };

  if (!latest) {
    return (
      <div>
        <PageHeader title={name} />
        {versions.error ? <ErrorBox error={versions.error} /> : <p className="muted">Loading…</p>}
      </div>
    );
  }

  return (
    <div>
      <PageHeader
        title={
          <>
            {name} <span className="version-tag">v{latest.version}</span>
          </>
        }
        subtitle={latest.description || formatName(latest.format)}
        actions={
          <button className="btn btn-danger-outline" onClick={() => void remove()}>
            Delete
          </button>
        }
      />
      <ErrorBox error={error} title="Not deleted" />
      <div className="tabs tabs-page" role="tablist">
        {TABS.map(([id, label]) => (
          <button key={id} role="tab" data-testid={`tab-${id}`} className={`tab ${tab === id ? 'tab-active' : ''}`} onClick={() => setTab(id)}>
            {label}
          </button>
        ))}
      </div>
      {tab === 'files' && shownVersion && (
        <Card
          title="Files"
          actions={
            <select value={shownVersion.version} onChange={(e) => setShown(Number(e.target.value))}>
              {list.map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version}
                  {v.version === latest.version ? ' (latest)' : ''}
                </option>
              ))}
            </select>
          }
        >
          <KeyValues
            rows={[
              ['Format', formatName(shownVersion.format)],
              ['Content hash', <span className="mono">{shownVersion.contentHash}</span>],
              ['Template', shownVersion.templated ? <Badge tone="info">rendered per agent</Badge> : 'no'],
              ['Created', `${relativeTime(shownVersion.createTime)} by ${shownVersion.createdBy}`],
            ]}
          />
          <FilesView files={shownVersion.files} />
        </Card>
      )}
      {tab === 'versions' && <Versions key={latest.version} versions={list} />}
      {tab === 'edit' && (
        <Edit
          key={latest.version}
          config={latest}
          onSaved={() => {
            versions.refresh();
            setTab('versions');
          }}
        />
      )}
      {tab === 'assignments' && <Assignments config={latest} />}
      {tab === 'telemetry' && <ConfigurationOwnMetrics name={name} latest={latest.version} />}
    </div>
  );
}
