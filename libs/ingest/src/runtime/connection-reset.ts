/**
 * Marks offline every agent still counted connected, for a process that held
 * every connection and starts again (the embedded server): right after its
 * start nothing is connected, so rows left connected by the previous run are
 * wrong from the first moment, whatever the liveness window. Run before the
 * edge accepts connections. Each change is the guarded upsert ingest uses,
 * with an AgentEvent, in batches of one transaction each.
 */
import { AgentEventCodec } from '@opamp/contracts';
import type { SqlDatabase } from '@opamp/store';
import { AgentChange, DISCONNECT_REASON_SERVER_RESTART, type AgentState } from '../core/agent-state';
import { buildAgentEvent } from '../core/events';
import { AgentRepository } from '../store/agent-repository';
import type { EventSink } from './inbound-processor';

const BATCH = 500;

/** Returns how many agents it marked offline. */
export async function disconnectAllAgents(
  deps: { db: SqlDatabase; events: EventSink; repository?: AgentRepository },
  nowMs: number,
): Promise<number> {
  const repo = deps.repository ?? new AgentRepository();
  let total = 0;
  for (;;) {
    let n = 0;
    await deps.db.transaction(async (tx) => {
      const rows = await repo.loadConnectedForUpdate(tx, BATCH);
      n = rows.length;
      if (n === 0) return;
      const changed: AgentState[] = rows.map((row) => ({
        ...row,
        connected: false,
        stale: false,
        gatewayId: null,
        connectionId: null,
        disconnectReason: DISCONNECT_REASON_SERVER_RESTART,
        recordVersion: row.recordVersion + 1,
      }));
      await repo.upsert(tx, changed);
      await deps.events.publish(
        changed.map((s) => ({ key: s.instanceUid, value: AgentEventCodec.encode(buildAgentEvent(s, AgentChange.AGENT_CHANGE_CONNECTION, nowMs)) })),
      );
    });
    total += n;
    if (n < BATCH) return total;
  }
}
