/** One rollout: state and controls, progress per batch, its agents and its events (followed live). */
import { useEffect, useState } from 'react';
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { describeApplyTimeout, describeGates, describeStrategy, rolloutStateName } from '../lib/rollout';
import { notSentText, relativeTime } from '../lib/format';
import type { ListRolloutAgentsResponse, ListRolloutEventsResponse, Rollout, RolloutEvent } from '../lib/types';
import { Link } from '../router';
import { Badge } from '../components/badges';
import { Card, ErrorBox, KeyValues, LiveIndicator, PageHeader } from '../components/ui';
import { ProgressBar, RolloutStateBadge } from './Rollouts';
import { RolloutControls, type RolloutControlSpec } from '../components/RolloutControls';
import { RolloutOwnMetrics } from '../components/RolloutOwnMetrics';
import { RolloutTelemetryGate } from '../components/RolloutTelemetryGate';

const CONTROLS: readonly RolloutControlSpec[] = [
  { control: 'start', label: 'Start', className: 'btn-primary' },
  { control: 'pause', label: 'Pause', className: '' },
  { control: 'resume', label: 'Resume', className: 'btn-primary' },
  { control: 'abort', label: 'Abort', className: 'btn-danger-outline', confirm: 'Abort this rollout? Agents already moved keep the new version.' },
  { control: 'rollback', label: 'Roll back', className: 'btn-danger', confirm: 'Return every agent this rollout moved to the previous version?' },
];

function phaseTone(phase: string): 'ok' | 'bad' | 'warn' | 'muted' | 'info' {
  if (phase.endsWith('APPLIED')) return 'ok';
  if (phase.endsWith('APPLYING') || phase.endsWith('PENDING')) return 'info';
  if (phase.endsWith('OFFLINE')) return 'muted';
  if (phase.endsWith('TIMED_OUT')) return 'warn';
  return 'bad';
}

export function Events({ name }: { name: string }) {
  const api = useApi();
  const [events, setEvents] = useState<RolloutEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    let after = '0';
    let stopped = false;
    // Long-poll: the API holds the request up to wait_ms for the next event.
    const follow = async () => {
      while (!stopped) {
        try {
          const r = await api.get<ListRolloutEventsResponse>(`/rollouts/${encodeURIComponent(name)}/events`, { afterId: after, pageSize: 500, waitMs: 20000 }, ctrl.signal);
          if (stopped) return;
          if (r.events.length) setEvents((prev) => [...prev, ...r.events]);
          if (r.lastId && r.lastId !== '0') after = r.lastId;
          setError(null);
        } catch (err) {
          if (stopped) return;
          setError(err);
          await new Promise((res) => setTimeout(res, 3000));
        }
      }
    };
    void follow();
    return () => {
      stopped = true;
      ctrl.abort();
    };
  }, [api, name]);
  return (
    <Card title="Events">
      <ErrorBox error={error} />
      <table className="table table-compact" data-testid="rollout-events">
        <tbody>
          {[...events].reverse().map((e) => (
            <tr key={e.id}>
              <td title={e.time} className="small">
                {relativeTime(e.time)}
              </td>
              <td>
                <span className="chip">{e.type}</span>
              </td>
              <td className="small">{e.batchIndex >= 0 ? `batch ${e.batchIndex + 1}` : ''}</td>
              <td>{e.message}</td>
              <td className="mono small muted">{e.actor}</td>
            </tr>
          ))}
          {events.length === 0 && (
            <tr>
              <td className="empty">No events yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </Card>
  );
}

export function Agents({ name, batches }: { name: string; batches: number }) {
  const api = useApi();
  const [batch, setBatch] = useState<number | ''>('');
  const [tokens, setTokens] = useState<string[]>(['']);
  const page = tokens.length - 1;
  const agents = usePoll(
    (s) => api.get<ListRolloutAgentsResponse>(`/rollouts/${encodeURIComponent(name)}/agents`, { batchIndex: batch === '' ? undefined : batch, pageSize: 50, pageToken: tokens[page] }, s),
    3000,
    [name, batch, tokens[page]],
  );
  return (
    <Card
      title="Agents of this rollout"
      actions={
        <select
          value={batch}
          onChange={(e) => {
            setBatch(e.target.value === '' ? '' : Number(e.target.value));
            setTokens(['']);
          }}
        >
          <option value="">all batches</option>
          {Array.from({ length: batches }, (_, i) => (
            <option key={i} value={i}>
              batch {i + 1}
            </option>
          ))}
        </select>
      }
    >
      <ErrorBox error={agents.error} />
      <table className="table table-compact">
        <thead>
          <tr>
            <th>Agent</th>
            <th>Batch</th>
            <th>Phase</th>
            <th>Reason</th>
          </tr>
        </thead>
        <tbody>
          {(agents.data?.agents ?? []).map((a) => (
            <tr key={a.instanceUid}>
              <td>
                <Link className="mono" to={`/agents/${a.instanceUid}`}>
                  {a.instanceUid}
                </Link>
              </td>
              <td>{a.batchIndex + 1}</td>
              <td>
                <Badge tone={phaseTone(a.phase)}>{rolloutStateName(a.phase)}</Badge> {a.reverted && <Badge tone="muted">reverted</Badge>}
              </td>
              <td className="small">{notSentText(a.reason)}</td>
            </tr>
          ))}
          {(agents.data?.agents ?? []).length === 0 && !agents.loading && (
            <tr>
              <td colSpan={4} className="empty">
                No agents taken yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        <span />
        <span className="pager-controls">
          <button className="btn" disabled={page === 0} onClick={() => setTokens(tokens.slice(0, -1))}>
            ← Previous
          </button>
          <button className="btn" disabled={!agents.data?.nextPageToken} onClick={() => agents.data?.nextPageToken && setTokens([...tokens, agents.data.nextPageToken])}>
            Next →
          </button>
        </span>
      </div>
    </Card>
  );
}

export function RolloutDetail({ name }: { name: string }) {
  const api = useApi();
  const now = useNow();
  const rollout = usePoll((s) => api.get<Rollout>(`/rollouts/${encodeURIComponent(name)}`, undefined, s), 2000, [name]);
  const r = rollout.data;


  if (!r) {
    return (
      <div>
        <PageHeader title={name} />
        {rollout.error ? <ErrorBox error={rollout.error} /> : <p className="muted">Loading…</p>}
      </div>
    );
  }

  return (
    <div>
      <PageHeader
        title={
          <>
            Rollout {r.name} <RolloutStateBadge state={r.state} />
          </>
        }
        subtitle={<LiveIndicator updatedAt={rollout.updatedAt} now={now} error={rollout.error} />}
      />
      <div className="grid-2">
        <Card title="Rollout">
          <KeyValues
            rows={[
              ['Assignment', r.assignmentName],
              [
                'Configuration',
                <Link key="c" to={`/configurations/${encodeURIComponent(r.configurationName)}?tab=versions`}>
                  {r.configurationName} v{r.fromVersion} → v{r.toVersion}
                </Link>,
              ],
              ['Strategy', describeStrategy(r.strategy)],
              ['Gates', describeGates(r.gates, r.autoRollback)],
              ['Soak time', `${r.soakTimeMs / 1000} s per batch`],
              ['Apply deadline', describeApplyTimeout(r.applyTimeoutMs ?? 0)],
              ['State reason', r.stateReason || '—'],
              ['Driver', r.driverId || '—'],
              ['Created', `${relativeTime(r.createTime, now)} by ${r.createdBy}`],
            ]}
          />
        </Card>
        <Card title="Progress">
          <div className="stats stats-small">
            <div className="stat">
              <div className="stat-value">{r.totalAgents}</div>
              <div className="stat-label">Targeted</div>
            </div>
            <div className="stat stat-ok">
              <div className="stat-value" data-testid="rollout-applied">
                {r.progress.applied}
              </div>
              <div className="stat-label">Applied</div>
            </div>
            <div className="stat">
              <div className="stat-value">{r.progress.applying}</div>
              <div className="stat-label">Applying</div>
            </div>
            <div className="stat" title="Not moved to the new version yet: their batch has not started">
              <div className="stat-value" data-testid="rollout-waiting">
                {r.progress.pending}
              </div>
              <div className="stat-label">Not started</div>
            </div>
            <div className="stat stat-bad">
              <div className="stat-value">{r.progress.failed + r.progress.unhealthy + r.progress.offline + r.progress.notSent}</div>
              <div className="stat-label">Failed / unhealthy / offline / not sent</div>
            </div>
            <div className="stat stat-bad" title="Connected, and no APPLIED or FAILED by the apply deadline: counted against the gate like failed">
              <div className="stat-value" data-testid="rollout-timed-out">
                {r.progress.timedOut ?? 0}
              </div>
              <div className="stat-label">Timed out</div>
            </div>
          </div>
          <ProgressBar rollout={r} />
          <RolloutControls state={r.state} path={`/rollouts/${encodeURIComponent(name)}`} controls={CONTROLS} testIdPrefix="rollout" onDone={rollout.refresh} />
        </Card>
      </div>
      <Card title="Batches">
        <table className="table" data-testid="rollout-batches">
          <thead>
            <tr>
              <th>#</th>
              <th>Batch</th>
              <th>State</th>
              <th className="num">Agents</th>
              <th style={{ width: '22%' }}>Progress</th>
              <th>Started</th>
              <th>Finished</th>
              <th>Failure</th>
            </tr>
          </thead>
          <tbody>
            {r.batches.map((b) => (
              <tr key={b.index} className={b.index === r.currentBatch ? 'row-current' : undefined}>
                <td>{b.index + 1}</td>
                <td>
                  {b.name}
                  {b.selector && <div className="mono small muted">{b.selector}</div>}
                </td>
                <td>
                  <Badge tone={b.state.endsWith('PASSED') ? 'ok' : b.state.endsWith('FAILED') ? 'bad' : b.state.endsWith('PENDING') ? 'muted' : 'info'}>{rolloutStateName(b.state)}</Badge>
                </td>
                <td className="num">{b.agents || (b.plannedAgents >= 0 ? `${b.plannedAgents} planned` : 'decided at start')}</td>
                <td>
                  <ProgressBar rollout={{ progress: b.progress, totalAgents: b.agents || Math.max(0, b.plannedAgents) }} />
                  <div className="small muted">
                    {b.state.endsWith('PENDING') ? 'not started · ' : ''}
                    {b.progress.applied} applied · {b.progress.applying} applying · {b.progress.failed} failed
                    {(b.progress.timedOut ?? 0) > 0 && <span className="text-bad" data-testid="batch-timed-out"> · {b.progress.timedOut} timed out</span>}
                  </div>
                </td>
                <td title={b.startTime}>{b.startTime ? relativeTime(b.startTime, now) : '—'}</td>
                <td title={b.finishTime}>{b.finishTime ? relativeTime(b.finishTime, now) : b.soakStartTime ? `soaking since ${relativeTime(b.soakStartTime, now)}` : '—'}</td>
                <td className="text-bad small">{b.failureReason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <RolloutOwnMetrics name={r.name} batches={r.batches} currentBatch={r.currentBatch} />
      <RolloutTelemetryGate name={r.name} gate={r.gates.ownTelemetry} />
      <Agents name={r.name} batches={r.batches.length} />
      <Events name={r.name} />
    </div>
  );
}
