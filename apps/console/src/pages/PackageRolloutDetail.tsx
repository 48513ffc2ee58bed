/**
 * One package rollout: state and controls, progress per batch with the
 * current batch's downloads and installs (from its agents' package
 * statuses), where the whole group of its package assignment stands
 * (GetPackageAssignmentStatus, as on the assignments page), its agents and
 * events (shared with configuration rollouts), followed live by polling.
 */
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { useNow, usePoll } from '../hooks';
import { describeApplyTimeout, describeGates, describeStrategy, rolloutStateName } from '../lib/rollout';
import { downloadSummary, downloadSummaryText, formatDesiredPackages } from '../lib/packages';
import { relativeTime } from '../lib/format';
import type { AgentDetail, DesiredPackage, ListRolloutAgentsResponse, PackageRollout } from '../lib/types';
import { Link } from '../router';
import { Badge } from '../components/badges';
import { Card, ErrorBox, KeyValues, LiveIndicator, PageHeader } from '../components/ui';
import { ProgressBar, RolloutStateBadge } from './Rollouts';
import { Agents, Events } from './RolloutDetail';
import { RolloutControls, type RolloutControlSpec } from '../components/RolloutControls';
import { PackageAssignmentStatusCard } from '../components/PackageAssignmentStatus';

const CONTROLS: readonly RolloutControlSpec[] = [
  { control: 'start', label: 'Start', className: 'btn-primary' },
  { control: 'pause', label: 'Pause', className: '' },
  { control: 'resume', label: 'Resume', className: 'btn-primary' },
  { control: 'abort', label: 'Abort', className: 'btn-danger-outline', confirm: 'Abort this package rollout? Agents already upgraded keep the new versions.' },
  { control: 'rollback', label: 'Roll back', className: 'btn-danger', confirm: 'Offer every agent this rollout moved the previous package versions (a downgrade)?' },
];

/** Agents of one batch whose statuses are read for its download line (GetAgent each): the first ones only. */
const DOWNLOAD_SAMPLE = 25;

function BatchDownloads({ name, batch, to }: { name: string; batch: number; to: DesiredPackage[] }) {
  const api = useApi();
  const d = usePoll(
    async (s) => {
      const r = await api.get<ListRolloutAgentsResponse>(`/rollouts/${encodeURIComponent(name)}/agents`, { batchIndex: batch, pageSize: DOWNLOAD_SAMPLE }, s);
      const agents = await Promise.all(r.agents.map((a) => api.get<AgentDetail>(`/agents/${encodeURIComponent(a.instanceUid)}`, undefined, s).then((x) => x.packageStatuses ?? [])));
      return { summary: downloadSummary(agents, to), more: !!r.nextPageToken };
    },
    3000,
    [name, batch],
  );
  if (!d.data) return d.error ? <span className="text-bad small">{errorMessage(d.error)}</span> : null;
  return (
    <div className="small" data-testid="batch-downloads">
      {downloadSummaryText(d.data.summary)}
      {d.data.more && <span className="muted"> (first {DOWNLOAD_SAMPLE} agents)</span>}
    </div>
  );
}

export function PackageRolloutDetail({ name }: { name: string }) {
  const api = useApi();
  const now = useNow();
  const rollout = usePoll((s) => api.get<PackageRollout>(`/package-rollouts/${encodeURIComponent(name)}`, undefined, s), 2000, [name]);
  const r = rollout.data;


  if (!r) {
    return (
      <div>
        <PageHeader title={name} />
        {rollout.error ? <ErrorBox error={rollout.error} /> : <p className="muted">Loading…</p>}
      </div>
    );
  }
  const running = r.state === 'ROLLOUT_STATE_RUNNING' || r.state === 'ROLLOUT_STATE_ROLLING_BACK' || r.state === 'ROLLOUT_STATE_PAUSED';
  return (
    <div>
      <PageHeader
        title={
          <>
            Package rollout {r.name} <RolloutStateBadge state={r.state} />
          </>
        }
        subtitle={<LiveIndicator updatedAt={rollout.updatedAt} now={now} error={rollout.error} />}
      />
      <div className="grid-2">
        <Card title="Rollout">
          <KeyValues
            rows={[
              [
                'Package assignment',
                <Link key="a" to="/package-assignments">
                  {r.packageAssignmentName}
                </Link>,
              ],
              [
                'Versions',
                <span key="v" className="mono" data-testid="prollout-versions">
                  {formatDesiredPackages(r.fromPackages)} → {formatDesiredPackages(r.toPackages)}
                </span>,
              ],
              ['Strategy', describeStrategy(r.strategy)],
              ['Gates', describeGates(r.gates, r.autoRollback)],
              ['Soak time', `${r.soakTimeMs / 1000} s per batch`],
              ['Install deadline', describeApplyTimeout(r.applyTimeoutMs ?? 0)],
              ['State reason', r.stateReason || '—'],
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
              <div className="stat-value" data-testid="prollout-installed">
                {r.progress.applied}
              </div>
              <div className="stat-label">New versions reported</div>
            </div>
            <div className="stat">
              <div className="stat-value">{r.progress.applying}</div>
              <div className="stat-label">Downloading / installing</div>
            </div>
            <div className="stat">
              <div className="stat-value">{r.progress.pending}</div>
              <div className="stat-label">Not started</div>
            </div>
            <div className="stat stat-bad">
              <div className="stat-value" data-testid="prollout-failed">
                {r.progress.failed + r.progress.unhealthy + r.progress.offline + r.progress.notSent + (r.progress.timedOut ?? 0)}
              </div>
              <div className="stat-label">Install failed / unhealthy / offline / not sent / timed out</div>
            </div>
          </div>
          <ProgressBar rollout={r} />
          <RolloutControls state={r.state} path={`/package-rollouts/${encodeURIComponent(name)}`} controls={CONTROLS} testIdPrefix="prollout" onDone={rollout.refresh} />
        </Card>
      </div>
      <Card title="Batches">
        <table className="table" data-testid="prollout-batches">
          <thead>
            <tr>
              <th>#</th>
              <th>Batch</th>
              <th>State</th>
              <th className="num">Agents</th>
              <th style={{ width: '30%' }}>Progress</th>
              <th>Started</th>
              <th>Finished</th>
              <th>Gate</th>
            </tr>
          </thead>
          <tbody>
            {r.batches.map((b) => (
              <tr key={b.index} className={b.index === r.currentBatch ? 'row-current' : undefined} data-testid="prollout-batch">
                <td>{b.index + 1}</td>
                <td>
                  {b.name}
                  {b.selector && <div className="mono small muted">{b.selector}</div>}
                </td>
                <td>
                  <Badge tone={b.state.endsWith('PASSED') ? 'ok' : b.state.endsWith('FAILED') ? 'bad' : b.state.endsWith('PENDING') ? 'muted' : 'info'}>
                    <span data-testid="prollout-batch-state">{rolloutStateName(b.state)}</span>
                  </Badge>
                </td>
                <td className="num">{b.agents || (b.plannedAgents >= 0 ? `${b.plannedAgents} planned` : 'decided at start')}</td>
                <td>
                  <ProgressBar rollout={{ progress: b.progress, totalAgents: b.agents || Math.max(0, b.plannedAgents) }} />
                  <div className="small muted">
                    {b.progress.applied} installed · {b.progress.applying} downloading or installing · {b.progress.failed} install failed
                    {(b.progress.timedOut ?? 0) > 0 && <span className="text-bad"> · {b.progress.timedOut} timed out</span>}
                  </div>
                  {running && b.index === r.currentBatch && <BatchDownloads name={r.name} batch={b.index} to={r.toPackages} />}
                </td>
                <td title={b.startTime}>{b.startTime ? relativeTime(b.startTime, now) : '—'}</td>
                <td title={b.finishTime}>{b.finishTime ? relativeTime(b.finishTime, now) : b.soakStartTime ? `soaking since ${relativeTime(b.soakStartTime, now)}` : '—'}</td>
                <td className="small">{b.failureReason ? <span className="text-bad">{b.failureReason}</span> : b.state.endsWith('PASSED') ? <span className="text-ok">passed</span> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <PackageAssignmentStatusCard name={r.packageAssignmentName} />
      <Agents name={r.name} batches={r.batches.length} />
      <Events name={r.name} />
    </div>
  );
}
