/**
 * A rollout batch's own telemetry (issue 19 item 4): the agents it took,
 * summed, from an hour before it started (GetRolloutBatchOwnMetrics), with
 * the change since its start ("since batch 2 started (v7), export failures up
 * 40 %": the same agents before and after) and a marker at the start.
 */
import { useMemo, useState } from 'react';
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { changesAround, changeText, GROUP_CHARTS, groupTotals, type RolloutBatchOwnMetricsResponse } from '../lib/own-metrics';
import type { RolloutBatch } from '../lib/types';
import { Card, ErrorBox } from './ui';
import { OwnMetricCharts } from './OwnMetricCharts';

const POLL_MS = 10_000;

export function RolloutOwnMetrics({ name, batches, currentBatch }: { name: string; batches: readonly RolloutBatch[]; currentBatch: number }) {
  const api = useApi();
  const [chosen, setChosen] = useState<number | null>(null);
  const index = chosen ?? Math.max(0, Math.min(currentBatch, batches.length - 1));
  const metrics = usePoll(
    (signal) => api.get<RolloutBatchOwnMetricsResponse>(`/rollouts/${encodeURIComponent(name)}/batches/${index}/own-metrics`, undefined, signal),
    POLL_MS,
    [name, index],
  );
  const m = metrics.current ? metrics.data : undefined;
  const stepMs = (m?.stepSeconds ?? 60) * 1000;
  const totals = useMemo(() => groupTotals([m?.series ?? []], stepMs), [m, stepMs]);
  const startedMs = m?.startedAt ? Date.parse(m.startedAt) : null;
  const changes = m && startedMs !== null ? changesAround(totals, startedMs, Date.parse(m.startTime), Date.parse(m.endTime)) : [];
  const since = m ? `since batch ${index + 1} started${m.configurationName ? ` (v${m.toVersion})` : ''}` : '';
  if (batches.length === 0) return null;
  return (
    <Card
      title="Own telemetry of the batch's agents"
      actions={
        <select data-testid="batch-metrics-select" value={index} onChange={(e) => setChosen(Number(e.target.value))}>
          {batches.map((b) => (
            <option key={b.index} value={b.index}>
              batch {b.index + 1} ({b.name})
            </option>
          ))}
        </select>
      }
    >
      <ErrorBox error={metrics.error} title="Could not load the batch's own metrics" />
      {m && startedMs === null && <p className="muted small">Batch {index + 1} has not started: its agents are shown as they are now.</p>}
      {m && startedMs !== null && (
        <ul className="changes" data-testid="batch-changes">
          {changes.map((c) => (
            <li key={c.label} className={c.worse ? 'change-worse' : c.direction === 'up' || c.direction === 'down' ? 'change-better' : undefined}>
              {changeText(since, c)}
            </li>
          ))}
        </ul>
      )}
      {m && (
        <>
          <p className="muted small">
            {m.agents === 1 ? '1 agent' : `${m.agents} agents`}, summed {m.stepSeconds === 60 ? 'per minute' : 'per 5 minutes'}; the dashed line is the batch's start.
          </p>
          <OwnMetricCharts charts={GROUP_CHARTS} totals={totals} stepMs={stepMs} testIdPrefix="batch-chart" range={m} markerMs={startedMs} />
        </>
      )}
    </Card>
  );
}
