/**
 * Own telemetry records (issue 19), pure: a batch of AgentTelemetry records
 * summed per agent (items per signal, the latest receive time), so that a
 * batch costs one write whatever its size. Records are already bound to
 * their agent by the gateway (its credential); nothing here looks inside the
 * OTLP payload.
 */
import { fleet } from '@opamp/contracts';

export interface OwnTelemetryTally {
  readonly tenantId: string;
  readonly instanceUid: Buffer;
  dataPoints: number;
  spans: number;
  logRecords: number;
  lastReceivedAtMs: number;
}

const S = fleet.v1.AgentTelemetrySignal;

/** Per agent ("tenant/uidHex"), in uid order (writers lock rows in that order: no deadlocks between batches). */
export function tallyOwnTelemetry(records: readonly fleet.v1.IAgentTelemetry[]): OwnTelemetryTally[] {
  const byAgent = new Map<string, OwnTelemetryTally>();
  for (const r of records) {
    if (!r.tenantId || r.instanceUid?.length !== 16) continue;
    const uid = Buffer.from(r.instanceUid);
    const key = `${r.tenantId}/${uid.toString('hex')}`;
    let t = byAgent.get(key);
    if (!t) {
      t = { tenantId: r.tenantId, instanceUid: uid, dataPoints: 0, spans: 0, logRecords: 0, lastReceivedAtMs: 0 };
      byAgent.set(key, t);
    }
    const items = Number(r.items ?? 0);
    if (r.signal === S.AGENT_TELEMETRY_SIGNAL_METRICS) t.dataPoints += items;
    else if (r.signal === S.AGENT_TELEMETRY_SIGNAL_TRACES) t.spans += items;
    else if (r.signal === S.AGENT_TELEMETRY_SIGNAL_LOGS) t.logRecords += items;
    t.lastReceivedAtMs = Math.max(t.lastReceivedAtMs, Number(r.receivedAtMs ?? 0));
  }
  return [...byAgent.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}
