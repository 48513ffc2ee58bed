/** Package rollouts: the list (newest first, live) and a form to move a package assignment to other versions in stages. */
import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { applyTimeoutField, describeStrategy, parseStrategy, type StrategyKind } from '../lib/rollout';
import { formatDesiredPackages, parseDesiredPackages } from '../lib/packages';
import { relativeTime } from '../lib/format';
import type { ListPackageAssignmentsResponse, ListPackageRolloutsResponse, PackageRollout } from '../lib/types';
import { Link, navigate } from '../router';
import { PackageTabs } from '../components/PackageTabs';
import { Card, ErrorBox, LiveIndicator, PageHeader } from '../components/ui';
import { ProgressBar, RolloutStateBadge } from './Rollouts';

function NewPackageRollout({ onCreated }: { onCreated: (r: PackageRollout) => void }) {
  const api = useApi();
  const assignments = usePoll((s) => api.get<ListPackageAssignmentsResponse>('/package-assignments', undefined, s), 0, []);
  const list = assignments.data?.packageAssignments ?? [];
  const [assignment, setAssignment] = useState('');
  const chosen = list.find((a) => a.name === assignment) ?? list[0];
  const [toText, setToText] = useState('');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<StrategyKind>('batchSize');
  const [strategyText, setStrategyText] = useState('1');
  const [maxFailed, setMaxFailed] = useState(0);
  const [maxFailedPercent, setMaxFailedPercent] = useState(0);
  const [soakSeconds, setSoakSeconds] = useState(30);
  const [applyTimeoutSeconds, setApplyTimeoutSeconds] = useState('');
  const [autoRollback, setAutoRollback] = useState(true);
  const [start, setStart] = useState(true);
  const [error, setError] = useState<unknown>(null);

  const problems: string[] = [];
  const attempt = <T,>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (err) {
      problems.push((err as Error).message);
      return fallback;
    }
  };
  const toPackages = attempt(() => parseDesiredPackages(toText), []);
  const strategy = attempt(() => parseStrategy(kind, strategyText), {});
  const deadline = attempt(() => applyTimeoutField(applyTimeoutSeconds), {});

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen) return;
    setError(null);
    try {
      onCreated(
        await api.post<PackageRollout>('/package-rollouts', {
          name,
          packageAssignmentName: chosen.name,
          toPackages,
          strategy,
          gates: { maxFailedAgents: maxFailed, maxFailedPercent },
          soakTimeMs: Math.round(soakSeconds * 1000),
          ...deadline,
          autoRollback,
          start,
        }),
      );
    } catch (err) {
      setError(err);
    }
  };

  if (list.length === 0 && !assignments.loading) {
    return (
      <Card title="New package rollout">
        <p className="muted">A package rollout moves a package assignment to other versions: create a package assignment first.</p>
      </Card>
    );
  }
  return (
    <Card title="New package rollout">
      <form onSubmit={submit}>
        <div className="form-grid">
          <label className="field">
            <span>Package assignment</span>
            <select data-testid="prollout-assignment" value={chosen?.name ?? ''} onChange={(e) => setAssignment(e.target.value)}>
              {list.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name} ({formatDesiredPackages(a.packages)})
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>To versions (name@version, …)</span>
            <input data-testid="prollout-to" className="mono" value={toText} onChange={(e) => setToText(e.target.value)} placeholder={chosen ? formatDesiredPackages(chosen.packages) : 'otelcol@1.1.0'} />
          </label>
          <label className="field">
            <span>Name (optional)</span>
            <input data-testid="prollout-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="generated" />
          </label>
          <label className="field">
            <span>Soak time per batch (s)</span>
            <input data-testid="prollout-soak" type="number" min={0} step="any" value={soakSeconds} onChange={(e) => setSoakSeconds(Number(e.target.value))} />
          </label>
          <label className="field">
            <span>Strategy</span>
            <select data-testid="prollout-strategy-kind" value={kind} onChange={(e) => setKind(e.target.value as StrategyKind)}>
              <option value="batchSize">fixed batch size</option>
              <option value="batchPercent">batch percent</option>
              <option value="steps">cumulative steps</option>
              <option value="stages">stages by selector</option>
            </select>
          </label>
          <label className="field field-wide">
            <span>{kind === 'stages' ? 'Stages (one per line: name: selector)' : kind === 'steps' ? 'Steps (agents or %)' : kind === 'batchSize' ? 'Agents per batch' : 'Percent per batch'}</span>
            {kind === 'stages' ? (
              <textarea className="mono" rows={3} value={strategyText} onChange={(e) => setStrategyText(e.target.value)} />
            ) : (
              <input data-testid="prollout-strategy" className="mono" value={strategyText} onChange={(e) => setStrategyText(e.target.value)} />
            )}
          </label>
          <label className="field">
            <span>Install deadline per agent (s, 0 = none)</span>
            <input type="number" min={0} placeholder="600 (default)" value={applyTimeoutSeconds} onChange={(e) => setApplyTimeoutSeconds(e.target.value)} />
          </label>
          <label className="field">
            <span>Gate: max failed agents</span>
            <input type="number" min={0} value={maxFailed} onChange={(e) => setMaxFailed(Number(e.target.value))} />
          </label>
          <label className="field">
            <span>Gate: max failed %</span>
            <input type="number" min={0} max={100} value={maxFailedPercent} onChange={(e) => setMaxFailedPercent(Number(e.target.value))} />
          </label>
          <label className="check">
            <input type="checkbox" checked={autoRollback} onChange={(e) => setAutoRollback(e.target.checked)} /> roll back automatically when a gate fails (else pause)
          </label>
          <label className="check">
            <input data-testid="prollout-start-now" type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} /> start now
          </label>
        </div>
        {toText && problems.length > 0 && <div className="text-bad small">{problems.join(' ')}</div>}
        <ErrorBox error={error} title="Not created" />
        <div className="button-row">
          <button className="btn btn-primary" type="submit" data-testid="create-prollout" disabled={!chosen || problems.length > 0}>
            Create package rollout
          </button>
        </div>
      </form>
    </Card>
  );
}

export function PackageRollouts() {
  const api = useApi();
  const now = useNow();
  const [activeOnly, setActiveOnly] = useState(false);
  const [tokens, setTokens] = useState<string[]>(['']);
  const page = tokens.length - 1;
  const list = usePoll((s) => api.get<ListPackageRolloutsResponse>('/package-rollouts', { activeOnly, pageSize: 50, pageToken: tokens[page] }, s), 3000, [activeOnly, tokens[page]]);
  const [showNew, setShowNew] = useState(false);
  const rows = list.data?.rollouts ?? [];
  return (
    <div>
      <PageHeader
        title="Package rollouts"
        subtitle={
          <>
            <PackageTabs path="/package-rollouts" /> <LiveIndicator updatedAt={list.updatedAt} now={now} error={list.error} />
          </>
        }
        actions={
          <button className="btn btn-primary" data-testid="new-prollout" onClick={() => setShowNew((s) => !s)}>
            {showNew ? 'Close' : 'New package rollout'}
          </button>
        }
      />
      {showNew && <NewPackageRollout onCreated={(r) => navigate(`/package-rollouts/${encodeURIComponent(r.name)}`)} />}
      <Card
        title="Package rollouts"
        actions={
          <label className="check">
            <input
              type="checkbox"
              checked={activeOnly}
              onChange={(e) => {
                setActiveOnly(e.target.checked);
                setTokens(['']);
              }}
            />{' '}
            active only
          </label>
        }
      >
        <ErrorBox error={list.error} />
        <table className="table table-hover" data-testid="prollouts-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Assignment</th>
              <th>Versions</th>
              <th>Strategy</th>
              <th>State</th>
              <th>Batch</th>
              <th style={{ width: '18%' }}>Progress</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name} className="clickable" onClick={() => navigate(`/package-rollouts/${encodeURIComponent(r.name)}`)}>
                <td>
                  <Link to={`/package-rollouts/${encodeURIComponent(r.name)}`} onClick={(e) => e.stopPropagation()}>
                    {r.name}
                  </Link>
                </td>
                <td>{r.packageAssignmentName}</td>
                <td className="mono small">
                  {formatDesiredPackages(r.fromPackages)} → {formatDesiredPackages(r.toPackages)}
                </td>
                <td className="small">{describeStrategy(r.strategy)}</td>
                <td>
                  <RolloutStateBadge state={r.state} />
                </td>
                <td>{r.batches.length ? `${Math.max(0, r.currentBatch) + 1} / ${r.batches.length}` : '—'}</td>
                <td>
                  <ProgressBar rollout={r} />
                  <div className="small muted">
                    {r.progress.applied} / {r.totalAgents} installed
                  </div>
                </td>
                <td title={r.createTime}>{relativeTime(r.createTime, now)}</td>
              </tr>
            ))}
            {rows.length === 0 && !list.loading && (
              <tr>
                <td colSpan={8} className="empty">
                  No package rollouts{activeOnly ? ' in progress' : ''}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <div className="pager">
          <span />
          <span className="pager-controls">
            <button className="btn" disabled={page === 0} onClick={() => setTokens(tokens.slice(0, -1))}>
              ← Newer
            </button>
            <button className="btn" disabled={!list.data?.nextPageToken} onClick={() => list.data?.nextPageToken && setTokens([...tokens, list.data.nextPageToken])}>
              Older →
            </button>
          </span>
        </div>
      </Card>
    </div>
  );
}
