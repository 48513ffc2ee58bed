/**
 * What every platform API resource shares: the stores, the push path, and how
 * a desired-state change gets its agents re-evaluated (recorded in the
 * change's transaction, then started on this replica).
 */
import type { SqlExecutor } from '@opamp/store';
import type { TraceSpan } from '@opamp/tracing';
import type { AgentPushDispatcher } from '../store/agent-push.dispatcher';
import type { DesiredStateRepository } from '../store/desired-state.repository';
import { ReevaluationJobRepository } from '../store/reevaluation-job.repository';
import type { Reconciler } from '../runtime/reconciler';

export interface Caller {
  readonly tenantId: string;
  readonly tokenId: string;
  /** The call's span when it is traced (mutations are, issue 21): work it records continues the trace. */
  readonly trace?: TraceSpan | null;
}

/**
 * Clears what lives beside the database for removed agents (status-ingest's
 * cursors and live index, pending pushes): Redis (bus-redis
 * RedisAgentStateEraser), or the embedded server's in-process twins.
 */
export interface AgentStateEraser {
  erase(tenantId: string, instanceUids: readonly Buffer[]): Promise<void>;
}

export class ApiContext {
  private readonly reevaluationJobs: ReevaluationJobRepository;

  constructor(
    readonly repo: DesiredStateRepository,
    readonly dispatcher: AgentPushDispatcher,
    private readonly reconciler: Reconciler | null,
    readonly agentState: AgentStateEraser | null = null,
  ) {
    this.reevaluationJobs = new ReevaluationJobRepository(repo.db);
  }

  /** The audit log's actor of a caller. */
  actor(c: Caller): string {
    return `token:${c.tokenId}`;
  }

  /**
   * Records the re-evaluation of the agents `selectors` match, in the
   * transaction of the change (durable: a crash before or during the work is
   * resumed from the job's cursor, runtime/reconciler.ts).
   */
  async recordReevaluation(tx: SqlExecutor, c: Caller, selectors: string[], reason: string): Promise<void> {
    if (selectors.length > 0) await this.reevaluationJobs.record(tx, c.tenantId, [...new Set(selectors)], reason, c.trace?.traceParent ?? null);
  }

  /** After the commit: this replica's reconciler starts on the recorded job (any replica's sweep would otherwise). */
  reevaluate(tenantId: string, selectors: string[]): void {
    if (this.reconciler && selectors.length > 0) void this.reconciler.runJobs(tenantId);
  }
}
