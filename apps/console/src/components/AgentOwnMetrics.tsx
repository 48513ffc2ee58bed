/**
 * An agent's own telemetry on its page (issue 19 item 4): throughput in and
 * out, refused and failed items, queue fill, CPU and memory, polled while the
 * page is open. 1 h and 24 h come from the 10 s points, 7 d and 30 d from the
 * 5-minute rollups (the API chooses by the range's length).
 */
import { useMemo, useState } from 'react';
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { AGENT_CHARTS, agentTotals, rangeOf, rangeQuery, type AgentOwnMetricsResponse, type RangeKey } from '../lib/own-metrics';
import { Card, ErrorBox } from './ui';
import { OwnMetricCharts, RangeSelector } from './OwnMetricCharts';

export function AgentOwnMetrics({ uid, reports }: { uid: string; reports: boolean }) {
  const api = useApi();
  const [range, setRange] = useState<RangeKey>('1h');
  const metrics = usePoll(
    (signal) => api.get<AgentOwnMetricsResponse>(`/agents/${encodeURIComponent(uid)}/own-metrics`, rangeQuery(range, Date.now()), signal),
    rangeOf(range).pollMs,
    [uid, range],
  );
  const m = metrics.current ? metrics.data : undefined;
  const stepMs = (m?.stepSeconds ?? 10) * 1000;
  const totals = useMemo(() => agentTotals(m?.series ?? [], stepMs), [m, stepMs]);
  return (
    <Card title="Own telemetry" actions={<RangeSelector value={range} onChange={setRange} testId="agent-metrics-range" />}>
      <ErrorBox error={metrics.error} title="Could not load the agent's own metrics" />
      {!reports && <p className="muted small">The agent does not declare ReportsOwnMetrics: it sends no own metrics unless configured outside OpAMP.</p>}
      {m && m.series.length === 0 && <p className="muted small" data-testid="agent-metrics-empty">No own metrics in this range.</p>}
      {m && (
        <p className="muted small" data-testid="agent-metrics-note">
          {m.stepSeconds === 10 ? '10 s points' : '5-minute averages'} from {new Date(m.startTime).toLocaleString()} to {new Date(m.endTime).toLocaleString()}
          {m.truncated ? ' (truncated: choose a shorter range)' : ''}; sums over the agent's components and signals.
        </p>
      )}
      {m ? <OwnMetricCharts charts={AGENT_CHARTS} totals={totals} stepMs={stepMs} testIdPrefix="agent-chart" range={m} /> : !metrics.error && <p className="muted">Loading…</p>}
    </Card>
  );
}
