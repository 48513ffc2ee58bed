/**
 * The own-telemetry gate of a rollout (issue 19 item 5): its settings, and
 * per batch the decision with the numbers behind it (export failures,
 * refused or dropped items, throughput; agents reporting), from the rollout's
 * `own_telemetry_gate` events. Nothing when the rollout has no such gate.
 */
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { describeOwnTelemetryGate, ownTelemetryDecisions, ratioText } from '../lib/own-telemetry-gate';
import type { ListRolloutEventsResponse, OwnTelemetryGate } from '../lib/types';
import { Link } from '../router';
import { Badge } from './badges';
import { Card, ErrorBox } from './ui';

export function RolloutTelemetryGate({ name, gate }: { name: string; gate: OwnTelemetryGate | null | undefined }) {
  const api = useApi();
  // A rollout has a few events per batch: the first page holds its decisions.
  const events = usePoll(
    (s) => (gate ? api.get<ListRolloutEventsResponse>(`/rollouts/${encodeURIComponent(name)}/events`, { pageSize: 1000 }, s) : Promise.resolve({ events: [], lastId: '0' })),
    3000,
    [name, !!gate],
  );
  if (!gate) return null;
  const decisions = ownTelemetryDecisions(events.data?.events ?? []);
  return (
    <Card title="Own-telemetry gate">
      <ErrorBox error={events.error} />
      <p className="small muted" data-testid="own-telemetry-gate-settings">
        {describeOwnTelemetryGate(gate)}
      </p>
      <table className="table table-compact" data-testid="own-telemetry-gate">
        <thead>
          <tr>
            <th>Batch</th>
            <th>Decision</th>
            <th>Agents reporting</th>
            <th>Export failures</th>
            <th>Refused / dropped</th>
            <th>Exported items/s</th>
            <th>Worst agents</th>
          </tr>
        </thead>
        <tbody>
          {decisions.map((d) => (
            <tr key={d.batchIndex}>
              <td>{d.batchIndex + 1}</td>
              <td title={d.reason}>
                <Badge tone={d.decision === 'passed' ? 'ok' : 'bad'}>{d.decision}</Badge>
                <div className="small muted">{d.reason}</div>
              </td>
              <td className="small">
                {d.comparable} of {d.agents} (need {d.requiredReporting})
                {d.stoppedReporting > 0 && <div className="text-bad">{d.stoppedReporting} stopped reporting</div>}
              </td>
              <td className={`small ${d.exportFailurePercent && !d.exportFailurePercent.passed ? 'text-bad' : ''}`}>{d.exportFailurePercent ? ratioText(d.exportFailurePercent) : '—'}</td>
              <td className={`small ${d.refusedDroppedPercent && !d.refusedDroppedPercent.passed ? 'text-bad' : ''}`}>{d.refusedDroppedPercent ? ratioText(d.refusedDroppedPercent) : '—'}</td>
              <td className={`small ${d.throughput && !d.throughput.passed ? 'text-bad' : ''}`}>
                {d.throughput ? `${d.throughput.before} → ${d.throughput.after} (${d.throughput.dropPercent >= 0 ? '−' : '+'}${Math.abs(d.throughput.dropPercent)}%)` : '—'}
              </td>
              <td className="small">
                {[...d.worstAgents.map((w) => ({ uid: w.instanceUid, text: `${w.exportFailurePercentBefore} → ${w.exportFailurePercentAfter} %` })), ...d.stoppedAgents.map((u) => ({ uid: u, text: 'stopped' }))].map((w) => (
                  <div key={w.uid}>
                    <Link className="mono" to={`/agents/${w.uid}`}>
                      {w.uid.slice(0, 12)}
                    </Link>{' '}
                    {w.text}
                  </div>
                ))}
              </td>
            </tr>
          ))}
          {decisions.length === 0 && (
            <tr>
              <td colSpan={7} className="empty">
                No decision yet: a batch is judged once every agent applied and one window ({gate.windowSeconds} s) of own metrics has passed.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </Card>
  );
}
