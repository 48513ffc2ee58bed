/**
 * The fleet's own telemetry on the overview (issue 19 item 4): every agent's
 * throughput, failures and queue fill summed (GetFleetOwnMetrics, 5-minute
 * rollups), and per configuration version the agents run, each one's mean.
 */
import { useMemo, useState } from 'react';
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { COMPARED, GROUP_CHARTS, groupTotals, meanPerAgent, formatValue, rangeOf, rangeQuery, type FleetOwnMetricsResponse, type RangeKey } from '../lib/own-metrics';
import { formatCount, shortHex } from '../lib/format';
import { Link } from '../router';
import { Card, ErrorBox } from './ui';
import { OwnMetricCharts, RangeSelector } from './OwnMetricCharts';

const STEP_MS = 300_000;

export function FleetOwnMetrics() {
  const api = useApi();
  const [range, setRange] = useState<RangeKey>('24h');
  const fleet = usePoll((signal) => api.get<FleetOwnMetricsResponse>('/fleet-own-metrics', rangeQuery(range, Date.now()), signal), Math.max(30_000, rangeOf(range).pollMs), [range]);
  const f = fleet.current ? fleet.data : undefined;
  const totals = useMemo(() => groupTotals((f?.groups ?? []).map((g) => g.series), STEP_MS), [f]);
  const from = f ? Date.parse(f.startTime) : 0;
  const to = f ? Date.parse(f.endTime) : 0;
  return (
    <Card title="Fleet own telemetry" actions={<RangeSelector value={range} onChange={setRange} testId="fleet-metrics-range" />}>
      <ErrorBox error={fleet.error} title="Could not load the fleet's own metrics" />
      {f ? (
        <>
          <p className="muted small">Summed over every agent from the 5-minute rollups{f.truncated ? ' (truncated: the 50 largest groups)' : ''}.</p>
          <OwnMetricCharts charts={GROUP_CHARTS} totals={totals} stepMs={STEP_MS} testIdPrefix="fleet-chart" range={f} />
          <h3>Per configuration the agents run (mean per agent over the range)</h3>
          <table className="table table-compact" data-testid="fleet-metric-groups">
            <thead>
              <tr>
                <th>Configuration</th>
                <th className="num">Agents</th>
                {COMPARED.map((c) => (
                  <th key={c.label} className="num">
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {f.groups.map((g) => {
                const t = groupTotals([g.series], STEP_MS);
                return (
                  <tr key={`${g.hasValue}:${g.value}`}>
                    <td>
                      {g.configurationName ? (
                        <Link to={`/configurations/${encodeURIComponent(g.configurationName)}?tab=telemetry`}>
                          {g.configurationName} v{g.configurationVersion}
                        </Link>
                      ) : g.hasValue ? (
                        <span className="mono" title={g.value}>
                          not sent by this server ({shortHex(g.value)})
                        </span>
                      ) : (
                        <span className="muted">no remote configuration</span>
                      )}
                    </td>
                    <td className="num">{formatCount(g.agents)}</td>
                    {COMPARED.map((c) => (
                      <td key={c.label} className="num">
                        {formatValue(meanPerAgent(c.line, t, from, to), 'rate')}
                      </td>
                    ))}
                  </tr>
                );
              })}
              {f.groups.length === 0 && (
                <tr>
                  <td colSpan={2 + COMPARED.length} className="empty">
                    No agents.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </>
      ) : (
        !fleet.error && <p className="muted">Loading…</p>
      )}
    </Card>
  );
}
