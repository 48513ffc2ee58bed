/**
 * A batch of inbound records applied in order to the agents' states (the pure
 * core, core/apply-inbound.ts, record by record), collecting what the batch
 * writes: the agents' pending rows, pushes, content blobs. `turn` is awaited
 * between records: a batch of 500 new agents is hundreds of milliseconds of
 * synchronous work, and in the embedded server the gateway, the API and the
 * reconciler share this event loop (issue 15 item 3).
 */
import { type AgentState, type ContentBlob, type PushPiece } from '../core/agent-state';
import { applyInbound, type ApplyContext, type InboundRecord } from '../core/apply-inbound';
import type { JsonValue } from '../core/json';
import { stateKey } from '../store/agent-repository';

export interface PendingAgent {
  state: AgentState;
  durable: boolean;
  volatile: boolean;
  changes: number;
  previousUid: Buffer | null;
  occurredAtMs: number;
  /** A tombstone: written, but no event of its own. */
  tombstone: boolean;
  /** The latest CSR of the batch (issue 18): carried by the event, never stored here. */
  certificateRequest: Buffer | null;
  /** The span of the agent's latest traced record of the batch: its event continues the trace. */
  traceParent: string | null;
}

export interface AppliedBatch {
  /** By stateKey, in the order the batch first touched each agent. */
  pending: Map<string, PendingAgent>;
  pushes: PushPiece[];
  configs: Map<string, ContentBlob<Buffer>>;
  components: Map<string, ContentBlob<JsonValue>>;
  /** Records that changed nothing durable. */
  ignored: number;
}

export interface ApplyBatchOptions {
  /** The trace context a record's span gives its agent's event (none: untraced). */
  traceParentOf?: (rec: InboundRecord) => string | null;
  /** Awaited between records: lets other callbacks run once a slice of loop time is used up (EventLoopSlice.turn). */
  turn: () => Promise<void>;
}

/**
 * `states` holds every agent of the batch (null: no row yet) and is updated in
 * place as records apply, so a later record of the same agent sees the earlier.
 * `components` starts empty: `ctx.isKnownComponentsHash` may consult it.
 */
export async function applyInboundBatch(
  records: readonly InboundRecord[],
  states: Map<string, AgentState | null>,
  ctx: ApplyContext,
  components: Map<string, ContentBlob<JsonValue>>,
  options: ApplyBatchOptions,
): Promise<AppliedBatch> {
  const out: AppliedBatch = { pending: new Map(), pushes: [], configs: new Map(), components, ignored: 0 };
  const entry = (s: AgentState): PendingAgent => {
    const key = stateKey(s.tenantId, s.instanceUid);
    let p = out.pending.get(key);
    if (!p) {
      p = { state: s, durable: false, volatile: false, changes: 0, previousUid: null, occurredAtMs: 0, tombstone: false, certificateRequest: null, traceParent: null };
      out.pending.set(key, p);
    }
    return p;
  };
  for (const rec of records) {
    await options.turn();
    const key = stateKey(rec.envelope.tenantId ?? '', rec.instanceUid);
    const prior = states.get(key) ?? null;
    const result = applyInbound(prior, rec, ctx);
    for (const piece of result.pushes) out.pushes.push(piece);
    if (result.effectiveConfig) out.configs.set(result.effectiveConfig.hash.toString('hex'), result.effectiveConfig);
    if (result.availableComponents) components.set(result.availableComponents.hash.toString('hex'), result.availableComponents);
    if (result.ignored && !result.durable) {
      out.ignored++;
      continue;
    }
    if (!result.state) continue;
    states.set(key, result.state);
    const p = entry(result.state);
    p.state = result.state;
    p.durable ||= result.durable;
    p.volatile ||= result.volatile || !result.ignored;
    p.occurredAtMs = Number(rec.envelope.receivedAtUnixMs ?? 0) || ctx.nowMs;
    p.traceParent = options.traceParentOf?.(rec) ?? p.traceParent;
    if (result.moved) {
      const movedKey = stateKey(result.moved.tenantId, result.moved.instanceUid);
      states.set(movedKey, result.moved);
      const m = entry(result.moved);
      m.state = result.moved;
      m.durable = true;
      m.changes |= p.changes | result.changes;
      m.previousUid = p.state.instanceUid;
      m.occurredAtMs = p.occurredAtMs;
      // A CSR sent with the old uid is judged for the new one (C67's reassignment exception).
      m.certificateRequest = result.certificateRequest ?? p.certificateRequest;
      m.traceParent = p.traceParent;
      p.changes = 0;
      p.tombstone = true;
    } else {
      p.changes |= result.changes;
      if (result.certificateRequest) p.certificateRequest = result.certificateRequest;
    }
  }
  return out;
}
