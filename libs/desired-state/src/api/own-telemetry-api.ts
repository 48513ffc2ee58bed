/**
 * The own-telemetry part of GetAgent (issue 19): what this server's OTLP
 * receiver got from the agent, as counted by the consumer of
 * opamp.agent-telemetry (migration 0231); zeros when nothing arrived.
 */
import { toIso } from '../store/desired-state.repository';
import type { ApiContext, Caller } from './api-context';
import { instanceUid, type Req } from './request-fields';

export class OwnTelemetryApi {
  constructor(private readonly ctx: ApiContext) {}

  async agentOwnTelemetry(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const { rows } = await this.ctx.repo.db.query(
      `SELECT data_points, spans, log_records, last_received_at FROM agent_own_telemetry WHERE tenant_id = $1 AND instance_uid = $2`,
      [c.tenantId, uid],
    );
    const r = rows[0];
    return {
      ownTelemetry: {
        dataPoints: String(r?.['data_points'] ?? 0),
        spans: String(r?.['spans'] ?? 0),
        logRecords: String(r?.['log_records'] ?? 0),
        lastReceivedTime: r ? toIso(r['last_received_at']) : '',
      },
    };
  }
}
