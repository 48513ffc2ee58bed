/** Rollouts: the list (newest first, live) and a form to start one with a strategy. */
import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { applyTimeoutField, describeStrategy, parseStrategy, progressBad, progressSegments, rolloutStateName, type StrategyKind } from '../lib/rollout';
import { relativeTime } from '../lib/format';
import type { ListAssignmentsResponse, ListConfigurationVersionsResponse, ListRolloutsResponse, Rollout, RolloutState } from '../lib/types';
import { Link, navigate } from '../router';
import { Badge } from '../components/badges';
import { Card, ErrorBox, LiveIndicator, PageHeader } from '../components/ui';

export function RolloutStateBadge({ state }: { state: RolloutState }) {
  const tone =
    state === 'ROLLOUT_STATE_COMPLETED'
      ? 'ok'
      : state === 'ROLLOUT_STATE_RUNNING' || state === 'ROLLOUT_STATE_ROLLING_BACK'
        ? 'info'
        : state === 'ROLLOUT_STATE_PAUSED' || state === 'ROLLOUT_STATE_PENDING'
          ? 'warn'
          : state === 'ROLLOUT_STATE_ABORTED'
            ? 'bad'
            : 'muted';
  return (
    <Badge tone={tone}>
      <span data-testid="rollout-state">{rolloutStateName(state)}</span>
    </Badge>
  );
}

export function ProgressBar({ rollout }: { rollout: Pick<Rollout, 'progress' | 'totalAgents'> }) {
  const p = rollout.progress;
  const seg = progressSegments(p, rollout.totalAgents);
  return (
    <div
      className="bar"
      data-testid="progress-bar"
      data-filled={Math.round(seg.applied + seg.applying + seg.bad)}
      title={`${p.applied} applied, ${p.applying} applying, ${progressBad(p)} failed/unhealthy/offline/not sent/timed out, ${p.pending} not started, of ${rollout.totalAgents}`}
    >
      <div className="bar-ok" style={{ width: `${seg.applied}%` }} />
      <div className="bar-info" style={{ width: `${seg.applying}%` }} />
      <div className="bar-bad" style={{ width: `${seg.bad}%` }} />
    </div>
  );
}

function NewRollout({ onCreated }: { onCreated: (r: Rollout) => void }) {
  const api = useApi();
  const assignments = usePoll((s) => api.get<ListAssignmentsResponse>('/assignments', undefined, s), 0, []);
  const [assignment, setAssignment] = useState('');
  const chosen = (assignments.data?.assignments ?? []).find((a) => a.name === assignment) ?? assignments.data?.assignments[0];
  const versions = usePoll(
    (s) => (chosen ? api.get<ListConfigurationVersionsResponse>(`/configurations/${encodeURIComponent(chosen.configurationName)}/versions`, undefined, s) : Promise.resolve({ versions: [] })),
    0,
    [chosen?.configurationName],
  );
  const [name, setName] = useState('');
  const [toVersion, setToVersion] = useState(0);
  const [kind, setKind] = useState<StrategyKind>('batchSize');
  const [strategyText, setStrategyText] = useState('1');
  const [maxFailed, setMaxFailed] = useState(0);
  const [maxFailedPercent, setMaxFailedPercent] = useState(0);
  const [soakSeconds, setSoakSeconds] = useState(30);
  // Blank: the server's default deadline (10 minutes).
  const [applyTimeoutSeconds, setApplyTimeoutSeconds] = useState('');
  const [autoRollback, setAutoRollback] = useState(true);
  // The own-telemetry gate with the server's defaults for its thresholds; only its window is asked here.
  const [ownTelemetry, setOwnTelemetry] = useState(false);
  const [ownTelemetryWindow, setOwnTelemetryWindow] = useState(300);
  const [start, setStart] = useState(false);
  const [error, setError] = useState<unknown>(null);

  let strategyError = '';
  let strategy = {};
  try {
    strategy = parseStrategy(kind, strategyText);
  } catch (err) {
    strategyError = (err as Error).message;
  }
  let deadlineError = '';
  let deadline = {};
  try {
    deadline = applyTimeoutField(applyTimeoutSeconds);
  } catch (err) {
    deadlineError = (err as Error).message;
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen) return;
    setError(null);
    try {
      const r = await api.post<Rollout>('/rollouts', {
        name,
        assignmentName: chosen.name,
        toVersion,
        strategy,
        gates: { maxFailedAgents: maxFailed, maxFailedPercent, ...(ownTelemetry ? { ownTelemetry: { windowSeconds: ownTelemetryWindow } } : {}) },
        soakTimeMs: Math.round(soakSeconds * 1000),
        ...deadline,
        autoRollback,
        start,
      });
      onCreated(r);
    } catch (err) {
      setError(err);
    }
  };

  const examples: Record<StrategyKind, string> = { batchSize: '10', batchPercent: '25', steps: '1, 10%, 50%, 100%', stages: 'canary: env=canary\neu: region=eu' };
  return (
    <Card title="New rollout">
      {(assignments.data?.assignments ?? []).length === 0 && !assignments.loading ? (
        <p className="muted">A rollout moves an assignment to another version: create an assignment first (Configurations).</p>
      ) : (
        <form onSubmit={submit}>
          <div className="form-grid">
            <label className="field">
              <span>Assignment</span>
              <select data-testid="rollout-assignment" value={chosen?.name ?? ''} onChange={(e) => setAssignment(e.target.value)}>
                {(assignments.data?.assignments ?? []).map((a) => (
                  <option key={a.name} value={a.name}>
                    {a.name} ({a.configurationName} {a.pinnedVersion ? `v${a.pinnedVersion}` : 'latest'})
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>To version</span>
              <select data-testid="rollout-version" value={toVersion} onChange={(e) => setToVersion(Number(e.target.value))}>
                <option value={0}>latest</option>
                {(versions.data?.versions ?? []).map((v) => (
                  <option key={v.version} value={v.version}>
                    v{v.version}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Name (optional)</span>
              <input value={name} onChange={(e) => setName(e.target.value)} placeholder="generated" />
            </label>
            <label className="field">
              <span>Soak time per batch (s)</span>
              <input data-testid="rollout-soak" type="number" min={0} value={soakSeconds} onChange={(e) => setSoakSeconds(Number(e.target.value))} />
            </label>
            <label className="field">
              <span>Apply deadline per agent (s, 0 = none)</span>
              <input
                data-testid="rollout-apply-timeout"
                type="number"
                min={0}
                placeholder="600 (default)"
                value={applyTimeoutSeconds}
                onChange={(e) => setApplyTimeoutSeconds(e.target.value)}
              />
              {deadlineError && <small className="text-bad">{deadlineError}</small>}
            </label>
            <label className="field">
              <span>Strategy</span>
              <select
                data-testid="rollout-strategy-kind"
                value={kind}
                onChange={(e) => {
                  const k = e.target.value as StrategyKind;
                  setKind(k);
                  setStrategyText(examples[k]);
                }}
              >
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
                <input data-testid="rollout-strategy" className="mono" value={strategyText} onChange={(e) => setStrategyText(e.target.value)} />
              )}
              {strategyError && <small className="text-bad">{strategyError}</small>}
            </label>
            <span />
            <label className="field">
              <span>Gate: max failed agents</span>
              <input type="number" min={0} value={maxFailed} onChange={(e) => setMaxFailed(Number(e.target.value))} />
            </label>
            <label className="field">
              <span>Gate: max failed %</span>
              <input type="number" min={0} max={100} value={maxFailedPercent} onChange={(e) => setMaxFailedPercent(Number(e.target.value))} />
            </label>
            <label className="check" title="Fails a batch when its agents' own metrics show export failures or refused/dropped items up 5 points, or throughput down 50 %, against the same agents before the batch">
              <input data-testid="rollout-own-telemetry" type="checkbox" checked={ownTelemetry} onChange={(e) => setOwnTelemetry(e.target.checked)} /> gate on the agents' own telemetry
            </label>
            {ownTelemetry ? (
              <label className="field">
                <span>Own-telemetry window (s)</span>
                <input type="number" min={1} max={21600} value={ownTelemetryWindow} onChange={(e) => setOwnTelemetryWindow(Number(e.target.value))} />
              </label>
            ) : (
              <span />
            )}
            <label className="check">
              <input type="checkbox" checked={autoRollback} onChange={(e) => setAutoRollback(e.target.checked)} /> roll back automatically when a gate fails (else pause)
            </label>
            <label className="check">
              <input data-testid="rollout-start-now" type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} /> start now
            </label>
          </div>
          <ErrorBox error={error} title="Not created" />
          <div className="button-row">
            <button className="btn btn-primary" type="submit" data-testid="create-rollout" disabled={!chosen || !!strategyError || !!deadlineError}>
              Create rollout
            </button>
          </div>
        </form>
      )}
    </Card>
  );
}

export function Rollouts() {
  const api = useApi();
  const now = useNow();
  const [activeOnly, setActiveOnly] = useState(false);
  const [tokens, setTokens] = useState<string[]>(['']);
  const page = tokens.length - 1;
  const list = usePoll((s) => api.get<ListRolloutsResponse>('/rollouts', { activeOnly, pageSize: 50, pageToken: tokens[page] }, s), 3000, [activeOnly, tokens[page]]);
  const [showNew, setShowNew] = useState(false);
  const rows = list.data?.rollouts ?? [];

  return (
    <div>
      <PageHeader
        title="Rollouts"
        subtitle={<LiveIndicator updatedAt={list.updatedAt} now={now} error={list.error} />}
        actions={
          <button className="btn btn-primary" data-testid="new-rollout" onClick={() => setShowNew((s) => !s)}>
            {showNew ? 'Close' : 'New rollout'}
          </button>
        }
      />
      {showNew && <NewRollout onCreated={(r) => navigate(`/rollouts/${encodeURIComponent(r.name)}`)} />}
      <Card
        title="Rollouts"
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
        <table className="table table-hover" data-testid="rollouts-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Assignment</th>
              <th>Version</th>
              <th>Strategy</th>
              <th>State</th>
              <th>Batch</th>
              <th style={{ width: '18%' }}>Progress</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.name} className="clickable" onClick={() => navigate(`/rollouts/${encodeURIComponent(r.name)}`)}>
                <td>
                  <Link to={`/rollouts/${encodeURIComponent(r.name)}`} onClick={(e) => e.stopPropagation()}>
                    {r.name}
                  </Link>
                </td>
                <td>{r.assignmentName}</td>
                <td>
                  {r.configurationName} v{r.fromVersion} → v{r.toVersion}
                </td>
                <td className="small">{describeStrategy(r.strategy)}</td>
                <td>
                  <RolloutStateBadge state={r.state} />
                </td>
                <td>{r.batches.length ? `${Math.max(0, r.currentBatch) + 1} / ${r.batches.length}` : '—'}</td>
                <td>
                  <ProgressBar rollout={r} />
                  <div className="small muted">
                    {r.progress.applied} / {r.totalAgents} applied
                  </div>
                </td>
                <td title={r.createTime}>{relativeTime(r.createTime, now)}</td>
              </tr>
            ))}
            {rows.length === 0 && !list.loading && (
              <tr>
                <td colSpan={8} className="empty">
                  No rollouts{activeOnly ? ' in progress' : ''}.
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
