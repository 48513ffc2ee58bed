/**
 * One partition batch of opamp.agent-inbound, end to end:
 *   decode (poisoned records are counted and skipped) -> heartbeat fast path:
 *   agents whose every record in the batch is a heartbeat their Redis cursor
 *   can take are done with one compare-and-set on the cursor (no PostgreSQL,
 *   core/agent-cursor.ts) -> for the rest, one transaction:
 *   lock and load the batch's records (row + Redis cursor), apply every record
 *   in order, write the changed rows in batched guarded upserts, publish the
 *   AgentEvents (acknowledged by Kafka) -> COMMIT -> save cursors, push to
 *   gateways. The caller commits the Kafka offsets after this resolves.
 *   Last-seen times applied without a row write go to the LastSeenBuffer, which
 *   the LastSeenFlusher writes to the rows in batches.
 *
 * Failure windows: a crash before COMMIT replays the batch from Kafka (events
 * may then be published twice, with the same record_version, which consumers
 * drop); a crash after COMMIT replays records the guard turns into no-ops,
 * so their pushes (at most once by design) may be lost: an agent is asked for
 * its full state again on its next connection.
 */
import { AgentEventCodec, AgentInboundCodec, type fleet } from '@opamp/contracts';
import { decodeAgentToServer, dropUnstorableValues, newInstanceUidV7, type AgentToServer } from '@opamp/protocol';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { EventLoopSlice } from '@opamp/process-runtime';
import { ServerTracing, type TraceSpan } from '@opamp/tracing';
import { AgentChange, type AgentState, type ContentBlob } from '../core/agent-state';
import { withEnrollmentLabels } from '../core/enrollment-labels';
import { flattenLabels } from '../core/json';
import { applyInbound, type ApplyContext, type InboundRecord } from '../core/apply-inbound';
import { INGEST_DEFAULTS } from '../core/ingest-defaults';
import { buildAgentEvent } from '../core/events';
import type { JsonValue } from '../core/json';
import { coalescePushes } from '../core/push';
import type { PushPiece } from '../core/agent-state';
import { AgentRepository, stateKey, type AgentKey } from '../store/agent-repository';
import { heartbeatCursor, isHeartbeat, overlayCursor, type AgentCursor } from '../core/agent-cursor';
import type { AgentCursors, CursorWrite } from '../store/cursor-store';
import type { PushDispatcher } from '../store/push-dispatcher';
import type { LastSeenBuffer } from '../core/last-seen-buffer';
import { recordRefusals, type Refusal } from '../store/refusal-audit';
import { credentialKey, enrollmentLabelsOf } from '../store/enrollment-label.repository';

function refusalOf(rec: InboundRecord, nowMs: number): Refusal {
  const env = rec.envelope;
  const at = Number(env.receivedAtUnixMs ?? 0);
  return {
    tenantId: env.tenantId ?? '',
    instanceUid: rec.instanceUid,
    gatewayId: env.gatewayId ?? '',
    credentialId: env.credentialId ?? '',
    reason: env.refused?.reason ?? 0,
    detail: env.refused?.detail ?? '',
    atMs: at > 0 ? at : nowMs,
  };
}

/** Consecutive slices of at most `max` records, in order (the records left when the heartbeat fast path is done). */
export function transactionSlices<T>(records: readonly T[], max: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < records.length; i += max) out.push(records.slice(i, i + max));
  return out;
}

export interface RawRecord {
  key: Buffer | null;
  value: Buffer | null;
  offset?: string;
}

/** Where AgentEvents go (a RecordProducer on opamp.agent-events in production). */
export interface EventSink {
  publish(events: readonly { key: Buffer; value: Buffer }[]): Promise<void>;
}

export interface BatchStats {
  records: number;
  /** Records taken by the heartbeat fast path (no PostgreSQL). */
  heartbeats: number;
  poisoned: number;
  ignored: number;
  /** Refusals gateways reported (credential misuse, duplicates): audit rows, no state. */
  refused: number;
  rowsWritten: number;
  events: number;
  pushes: number;
}

export interface InboundProcessorDeps {
  db: SqlDatabase;
  cursors: AgentCursors;
  events: EventSink;
  pushes: PushDispatcher;
  /** Where last-seen times applied without a row write are kept for the flush (none: not kept). */
  lastSeen?: LastSeenBuffer;
  repository?: AgentRepository;
  clock?: () => number;
  newInstanceUid?: () => Buffer;
  onPoisoned?: (record: RawRecord, error: unknown) => void;
  /** This process's traces: a traced record gets a span, the event it causes carries it (default off). */
  tracing?: ServerTracing;
  /** A slice of event-loop time for decoding a batch (default INGEST_DEFAULTS.batchSliceMs of the real clock). */
  newSlice?: () => EventLoopSlice;
  /** Records applied per transaction of the full path (default INGEST_DEFAULTS.recordsPerTransaction). */
  recordsPerTransaction?: number;
}

interface Pending {
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

export class InboundProcessor {
  private readonly repo: AgentRepository;
  private readonly clock: () => number;
  private readonly newUid: () => Buffer;
  private readonly newSlice: () => EventLoopSlice;
  readonly totals: BatchStats = { records: 0, heartbeats: 0, poisoned: 0, ignored: 0, refused: 0, rowsWritten: 0, events: 0, pushes: 0 };

  constructor(private readonly deps: InboundProcessorDeps) {
    this.repo = deps.repository ?? new AgentRepository();
    this.clock = deps.clock ?? Date.now;
    this.newUid = deps.newInstanceUid ?? (() => newInstanceUidV7(this.clock()));
    this.newSlice = deps.newSlice ?? (() => new EventLoopSlice(INGEST_DEFAULTS.batchSliceMs));
  }

  private decode(raw: RawRecord): InboundRecord {
    if (!raw.key || raw.key.length !== 16) throw new Error(`record key must be a 16-byte instance_uid, got ${raw.key?.length ?? 0} bytes`);
    if (!raw.value) throw new Error('record has no value');
    const envelope = AgentInboundCodec.decode(raw.value);
    if (!envelope.tenantId) throw new Error('envelope has no tenant_id');
    let message: AgentToServer | null = null;
    if (envelope.event === 'agentToServer') {
      message = decodeAgentToServer(envelope.agentToServer ?? new Uint8Array(0));
      // What a gateway let through (an older one, or a record already on the topic) must not fail the
      // batch in PostgreSQL: its valid part is stored, so the agent's sequence stays whole.
      const check = dropUnstorableValues(message);
      if (check.refused) throw new Error(`record cannot be stored: ${check.refused}`);
    } else if (envelope.event !== 'connected' && envelope.event !== 'disconnected' && envelope.event !== 'refused') {
      throw new Error('envelope carries no event');
    }
    return { instanceUid: Buffer.from(raw.key), envelope, message };
  }

  async process(batch: readonly RawRecord[]): Promise<BatchStats> {
    const stats: BatchStats = { records: batch.length, heartbeats: 0, poisoned: 0, ignored: 0, refused: 0, rowsWritten: 0, events: 0, pushes: 0 };
    const records: InboundRecord[] = [];
    const refusals: Refusal[] = [];
    // Decoding 500 records holds the loop for tens of ms otherwise (the embedded server's gateway and API
    // share it); no transaction is open yet, so a turn here holds nothing.
    const slice = this.newSlice();
    for (const raw of batch) {
      await slice.turn();
      try {
        const rec = this.decode(raw);
        // A refusal is not the agent's state: it goes to the audit log only.
        if (rec.envelope.refused) refusals.push(refusalOf(rec, this.clock()));
        else records.push(rec);
      } catch (err) {
        stats.poisoned++;
        this.deps.onPoisoned?.(raw, err);
      }
    }
    if (refusals.length > 0) {
      stats.refused = refusals.length;
      await this.deps.db.transaction(async (tx) => {
        await this.repo.ensureTenants(tx, new Set(refusals.map((r) => r.tenantId)));
        await recordRefusals(tx, refusals);
      });
    }
    if (records.length > 0) await this.processRecords(records, stats);
    for (const k of Object.keys(stats) as (keyof BatchStats)[]) this.totals[k] += stats[k];
    return stats;
  }

  private async processRecords(records: InboundRecord[], stats: BatchStats): Promise<void> {
    const spans = this.startSpans(records);
    try {
      const rest = await this.takeHeartbeats(records, stats);
      // In transactions of at most recordsPerTransaction records, one after the other (the order of an
      // agent's records holds): applying 500 new agents' first reports in one is hundreds of ms of
      // synchronous work, and a turn of the loop inside a transaction would hold its connection and row
      // locks while API requests and other partitions run. Between these, the loop runs at the round trips.
      for (const chunk of transactionSlices(rest, this.deps.recordsPerTransaction ?? INGEST_DEFAULTS.recordsPerTransaction)) await this.processFull(chunk, stats, spans);
    } catch (err) {
      for (const span of spans.values()) span.fail(err);
      throw err;
    } finally {
      for (const span of spans.values()) span.end();
    }
  }

  /** A span per traced record (the gateway sampled it); none at all when tracing is off. */
  private startSpans(records: readonly InboundRecord[]): Map<InboundRecord, TraceSpan> {
    const spans = new Map<InboundRecord, TraceSpan>();
    const tracing = this.deps.tracing ?? ServerTracing.off;
    if (!tracing.enabled) return spans;
    for (const r of records) {
      const span = tracing.continueFrom(r.envelope.traceParent, 'ingest.apply', {
        'opamp.tenant': r.envelope.tenantId ?? '',
        'opamp.instance_uid': r.instanceUid.toString('hex'),
        'opamp.inbound_event': r.message ? 'agent_to_server' : r.envelope.connected ? 'connected' : 'disconnected',
      });
      if (span) spans.set(r, span);
    }
    return spans;
  }

  /**
   * The heartbeat fast path. Only agents whose every record in this batch is a
   * heartbeat qualify (their order with other records stays intact); each is
   * written with a compare-and-set against the cursor as read. Returns the
   * records left for the full path, in batch order.
   */
  private async takeHeartbeats(records: InboundRecord[], stats: BatchStats): Promise<InboundRecord[]> {
    const byKey = new Map<string, InboundRecord[]>();
    const mixed = new Set<string>();
    for (const r of records) {
      const key = stateKey(r.envelope.tenantId ?? '', r.instanceUid);
      if (!isHeartbeat(r)) mixed.add(key);
      const list = byKey.get(key);
      if (list) list.push(r);
      else byKey.set(key, [r]);
    }
    const candidates = [...byKey].filter(([key]) => !mixed.has(key));
    if (candidates.length === 0) return records;
    const snapshots = await this.deps.cursors.snapshots(
      candidates.map(([, list]) => ({ tenantId: list[0].envelope.tenantId ?? '', instanceUid: list[0].instanceUid })),
    );
    const nowMs = this.clock();
    const writes: CursorWrite[] = [];
    for (const [key, list] of candidates) {
      const snap = snapshots.get(key);
      let cursor: AgentCursor | null = snap?.cursor ?? null;
      for (const r of list) {
        cursor = heartbeatCursor(cursor ?? undefined, r, nowMs);
        if (!cursor) break;
      }
      if (!cursor || !snap) continue;
      writes.push({ tenantId: list[0].envelope.tenantId ?? '', instanceUid: list[0].instanceUid, cursor, live: true, expected: snap.raw });
    }
    if (writes.length === 0) return records;
    const failed = await this.deps.cursors.write(writes);
    const done = new Set<string>();
    for (const w of writes) {
      const key = stateKey(w.tenantId, w.instanceUid);
      if (failed.has(key)) continue;
      done.add(key);
      stats.heartbeats += byKey.get(key)?.length ?? 0;
      this.deps.lastSeen?.note({ tenantId: w.tenantId, instanceUid: w.instanceUid, ...w.cursor });
    }
    return done.size === 0 ? records : records.filter((r) => !done.has(stateKey(r.envelope.tenantId ?? '', r.instanceUid)));
  }

  private async processFull(records: InboundRecord[], stats: BatchStats, spans: ReadonlyMap<InboundRecord, TraceSpan>): Promise<void> {
    const keys = new Map<string, AgentKey>();
    const componentHashes = new Map<string, Buffer>();
    for (const r of records) {
      const tenantId = r.envelope.tenantId ?? '';
      keys.set(stateKey(tenantId, r.instanceUid), { tenantId, instanceUid: r.instanceUid });
      const ac = r.message?.availableComponents;
      if (ac?.hash && ac.hash.length > 0 && Object.keys(ac.components ?? {}).length === 0) {
        componentHashes.set(Buffer.from(ac.hash).toString('hex'), Buffer.from(ac.hash));
      }
    }
    const sortedKeys = [...keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, k]) => k);

    const tenants = new Set(sortedKeys.map((k) => k.tenantId));
    let pushes: PushPiece[] = [];
    let touched: AgentState[] = [];
    /** Touched without a row write: their last seen waits for the flush. */
    let unwritten: AgentState[] = [];
    /** The cursors' text as read: the save after COMMIT is a compare-and-set against it. */
    let expected = new Map<string, string | null>();
    // Set by the attempt that commits (a retried transaction starts again); added to the batch's stats after.
    let rowsWritten = 0;
    let eventCount = 0;
    await this.deps.db.transaction(async (tx) => {
      // Reset per attempt: a retried transaction starts from what it loads.
      pushes = [];
      await this.repo.ensureTenants(tx, tenants);
      const [rows, cursors, known] = await Promise.all([
        this.repo.loadForUpdate(tx, sortedKeys),
        this.deps.cursors.snapshots(sortedKeys),
        this.repo.knownComponentHashes(tx, [...componentHashes.values()]),
      ]);
      const states = new Map<string, AgentState | null>();
      for (const [key] of keys) {
        const row = rows.get(key);
        states.set(key, row ? overlayCursor(row, cursors.get(key)?.cursor) : null);
      }
      expected = new Map([...keys.keys()].map((key) => [key, cursors.get(key)?.raw ?? null]));
      const configs = new Map<string, ContentBlob<Buffer>>();
      const components = new Map<string, ContentBlob<JsonValue>>();
      const ctx: ApplyContext = {
        nowMs: this.clock(),
        newInstanceUid: this.newUid,
        isKnownComponentsHash: (h) => known.has(h.toString('hex')) || components.has(h.toString('hex')),
      };
      const pending = new Map<string, Pending>();
      const entry = (s: AgentState): Pending => {
        const key = stateKey(s.tenantId, s.instanceUid);
        let p = pending.get(key);
        if (!p) {
          p = { state: s, durable: false, volatile: false, changes: 0, previousUid: null, occurredAtMs: 0, tombstone: false, certificateRequest: null, traceParent: null };
          pending.set(key, p);
        }
        return p;
      };

      for (const rec of records) {
        const key = stateKey(rec.envelope.tenantId ?? '', rec.instanceUid);
        const prior = states.get(key) ?? null;
        const result = applyInbound(prior, rec, ctx);
        pushes.push(...result.pushes);
        if (result.effectiveConfig) configs.set(result.effectiveConfig.hash.toString('hex'), result.effectiveConfig);
        if (result.availableComponents) components.set(result.availableComponents.hash.toString('hex'), result.availableComponents);
        if (result.ignored && !result.durable) {
          stats.ignored++;
          continue;
        }
        if (!result.state) continue;
        states.set(key, result.state);
        const p = entry(result.state);
        p.state = result.state;
        p.durable ||= result.durable;
        p.volatile ||= result.volatile || !result.ignored;
        p.occurredAtMs = Number(rec.envelope.receivedAtUnixMs ?? 0) || ctx.nowMs;
        p.traceParent = spans.get(rec)?.traceParent ?? p.traceParent;
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

      await this.takeEnrollmentLabels(tx, pending.values());
      const toWrite: AgentState[] = [];
      for (const p of pending.values()) {
        if (p.durable) {
          p.state = { ...p.state, recordVersion: p.state.recordVersion + 1 };
          toWrite.push(p.state);
        }
      }
      await this.repo.saveEffectiveConfigs(tx, [...configs.values()]);
      await this.repo.saveAvailableComponents(tx, [...components.values()]);
      rowsWritten = await this.repo.upsert(tx, toWrite);

      const events: { key: Buffer; value: Buffer }[] = [];
      for (const p of pending.values()) {
        if (p.tombstone || p.changes === 0) continue;
        const event: fleet.v1.IAgentEvent = buildAgentEvent(p.state, p.changes, p.occurredAtMs, p.previousUid, p.certificateRequest);
        if (p.traceParent) event.traceParent = p.traceParent;
        events.push({ key: p.state.instanceUid, value: AgentEventCodec.encode(event) });
      }
      if (events.length > 0) await this.deps.events.publish(events);
      eventCount = events.length;
      touched = [...pending.values()].filter((p) => p.durable || p.volatile).map((p) => p.state);
      unwritten = [...pending.values()].filter((p) => !p.durable && p.volatile).map((p) => p.state);
    });

    stats.rowsWritten += rowsWritten;
    stats.events += eventCount;
    this.repo.tenantsCommitted(tenants);
    // A cursor changed since it was read (the sweep forgot it after marking the row) is left
    // alone: the agent's next message then takes the full path and reads the row.
    await this.deps.cursors.save(touched, expected);
    for (const st of unwritten) {
      if (st.connected && !st.replacedBy) this.deps.lastSeen?.note(st);
    }
    const coalesced = coalescePushes(pushes);
    await this.deps.pushes.dispatch(coalesced);
    stats.pushes += coalesced.length;
  }

  /**
   * Agents whose credential changed in this batch take the labels it brings
   * (one query for all of them; the heartbeat path never gets here): their
   * labels are recomputed, and a change of them is a description change, so
   * selectors look at the agent again.
   */
  private async takeEnrollmentLabels(tx: SqlExecutor, pending: Iterable<Pending>): Promise<void> {
    const changed = [...pending].filter((p) => !p.tombstone && (p.changes & AgentChange.AGENT_CHANGE_CREDENTIAL) !== 0 && p.state.credentialId);
    if (changed.length === 0) return;
    const refs = changed.map((p) => ({ tenantId: p.state.tenantId, credentialId: p.state.credentialId ?? '', credentialKind: p.state.credentialKind }));
    const found = await enrollmentLabelsOf(tx, refs);
    changed.forEach((p, i) => {
      const s = p.state;
      if (withEnrollmentLabels(s, found.get(credentialKey(refs[i])) ?? {}, flattenLabels(s.identifyingAttributes, s.nonIdentifyingAttributes))) {
        p.changes |= AgentChange.AGENT_CHANGE_DESCRIPTION;
      }
      p.durable = true;
    });
  }
}
