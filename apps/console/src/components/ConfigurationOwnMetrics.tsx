/**
 * A configuration's own telemetry per version (issue 19 item 4): the agents
 * running the newest version against those still on the one before, over the
 * same range (GetConfigurationVersionOwnMetrics), as "since v7, export
 * failures up 40 %", and the newest version's agents charted.
 */
import { useMemo, useState } from 'react';
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { changesBetween, changeText, GROUP_CHARTS, groupTotals, rangeOf, rangeQuery, type ConfigurationVersionOwnMetricsResponse, type RangeKey } from '../lib/own-metrics';
import { Card, ErrorBox } from './ui';
import { OwnMetricCharts, RangeSelector } from './OwnMetricCharts';

const agentCount = (n: number) => `${n} ${n === 1 ? 'agent' : 'agents'}`;

export function ConfigurationOwnMetrics({ name, latest }: { name: string; latest: number }) {
  const api = useApi();
  const [range, setRange] = useState<RangeKey>('1h');
  const load = (version: number, signal: AbortSignal) =>
    api.get<ConfigurationVersionOwnMetricsResponse>(`/configurations/${encodeURIComponent(name)}/versions/${version}/own-metrics`, rangeQuery(range, Date.now()), signal);
  const metrics = usePoll(
    async (signal) => ({ now: await load(latest, signal), before: latest > 1 ? await load(latest - 1, signal) : null }),
    rangeOf(range).pollMs,
    [name, latest, range],
  );
  const m = metrics.current ? metrics.data : undefined;
  const stepMs = (m?.now.stepSeconds ?? 60) * 1000;
  const now = useMemo(() => groupTotals([m?.now.series ?? []], stepMs), [m, stepMs]);
  const before = useMemo(() => groupTotals([m?.before?.series ?? []], stepMs), [m, stepMs]);
  const from = m ? Date.parse(m.now.startTime) : 0;
  const to = m ? Date.parse(m.now.endTime) : 0;
  return (
    <Card title={`Own telemetry of the agents running v${latest}`} actions={<RangeSelector value={range} onChange={setRange} testId="config-metrics-range" />}>
      <ErrorBox error={metrics.error} title="Could not load the version's own metrics" />
      {m && (
        <>
          <p className="muted small" data-testid="config-metrics-agents">
            v{latest}: {agentCount(m.now.agents)}
            {m.before ? ` · v${latest - 1}: ${agentCount(m.before.agents)}` : ''} (running it now); means per agent over the range.
          </p>
          {m.before && (
            <ul className="changes" data-testid="version-changes">
              {changesBetween(before, now, from, to).map((c) => (
                <li key={c.label} className={c.worse ? 'change-worse' : c.direction === 'up' || c.direction === 'down' ? 'change-better' : undefined}>
                  {changeText(`since v${latest} (against v${latest - 1})`, c)}
                </li>
              ))}
            </ul>
          )}
          <OwnMetricCharts charts={GROUP_CHARTS} totals={now} stepMs={stepMs} testIdPrefix="version-chart" range={m.now} />
        </>
      )}
      {!m && !metrics.error && <p className="muted">Loading…</p>}
    </Card>
  );
}
