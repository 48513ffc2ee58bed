/**
 * The own-telemetry gate of one batch, for the rollout driver (issue 19
 * item 5): reads the batch's applied agents' own metrics in the window
 * before the batch started and the last window (store/own-telemetry-gate.repository.ts)
 * and decides with the pure core (core/own-telemetry-gate.ts). Only agents
 * that declare ReportsOwnMetrics are judged: the others cannot report.
 */
import type { SqlExecutor } from '@opamp/store';
import { evaluateOwnTelemetryGate, ownTelemetryWindows, type OwnTelemetryDecision, type OwnTelemetryGate, type TimeWindow } from '../core';
import { OwnTelemetryGateRepository } from '../store/own-telemetry-gate.repository';

export interface OwnTelemetryGateInput {
  readonly tenantId: string;
  readonly gate: OwnTelemetryGate;
  /** The batch's agents that applied the change. */
  readonly applied: readonly Buffer[];
  readonly batchStartedAtMs: number;
  /** The database's clock. */
  readonly nowMs: number;
  /** Agents that may stop reporting before the gate fails (what the batch tolerance leaves). */
  readonly toleratedSilent: number;
}

export interface OwnTelemetryGateResult extends OwnTelemetryDecision {
  readonly windows: { before: TimeWindow; after: TimeWindow };
}

export class OwnTelemetryGateEvaluator {
  private readonly repo: OwnTelemetryGateRepository;

  constructor(db: SqlExecutor) {
    this.repo = new OwnTelemetryGateRepository(db);
  }

  async evaluate(i: OwnTelemetryGateInput): Promise<OwnTelemetryGateResult> {
    const windows = ownTelemetryWindows(i.gate, i.batchStartedAtMs, i.nowMs);
    const capable = await this.repo.reportingCapable(i.tenantId, i.applied);
    const judged = i.applied.filter((u) => capable.has(u.toString('hex')));
    const reading = await this.repo.read(i.tenantId, judged, windows);
    const decision = evaluateOwnTelemetryGate({
      gate: i.gate,
      agents: judged.map((u) => {
        const hex = u.toString('hex');
        return { instanceUid: hex, before: reading.before.get(hex) ?? null, after: reading.after.get(hex) ?? null };
      }),
      toleratedSilent: i.toleratedSilent,
    });
    return { ...decision, windows };
  }
}
