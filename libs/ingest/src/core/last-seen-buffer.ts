/**
 * Last-seen times (and the moving owner of plain-HTTP agents) that status-ingest
 * applied to its cursors without a row write, kept until the next flush writes
 * them to PostgreSQL in a few batched statements (runtime/last-seen.flusher.ts).
 * Per agent only the newest time is kept, so the flush costs at most one row
 * write per agent however often it reports. Lost on a crash: the agent's next
 * message puts it back.
 */
import { Transport } from './agent-state';

export interface LastSeenEntry {
  tenantId: string;
  instanceUid: Buffer;
  lastSeenMs: number;
  /** The connection owner of an HTTP agent at that time (null: not HTTP, keep the row's). */
  gatewayId: string | null;
  connectionId: string | null;
}

export interface LastSeenNote {
  tenantId: string;
  instanceUid: Buffer;
  lastSeenMs: number | null;
  transport: number;
  gatewayId: string | null;
  connectionId: string | null;
}

export class LastSeenBuffer {
  private entries = new Map<string, LastSeenEntry>();

  get size(): number {
    return this.entries.size;
  }

  /** Keeps the newest time of each agent (an older note changes nothing). */
  note(n: LastSeenNote): void {
    if (n.lastSeenMs === null) return;
    const key = `${n.tenantId}/${n.instanceUid.toString('hex')}`;
    const had = this.entries.get(key);
    if (had && had.lastSeenMs >= n.lastSeenMs) return;
    const http = n.transport === Transport.TRANSPORT_HTTP && n.gatewayId !== null;
    this.entries.set(key, {
      tenantId: n.tenantId,
      instanceUid: n.instanceUid,
      lastSeenMs: n.lastSeenMs,
      gatewayId: http ? n.gatewayId : null,
      connectionId: http ? n.connectionId : null,
    });
  }

  /** Takes everything noted so far, by tenant, in instance_uid order (the order rows are locked in). */
  drain(): Map<string, LastSeenEntry[]> {
    const taken = this.entries;
    this.entries = new Map();
    const out = new Map<string, LastSeenEntry[]>();
    for (const e of taken.values()) {
      let list = out.get(e.tenantId);
      if (!list) out.set(e.tenantId, (list = []));
      list.push(e);
    }
    for (const list of out.values()) list.sort((a, b) => Buffer.compare(a.instanceUid, b.instanceUid));
    return out;
  }

  /** Puts back entries a failed flush could not write (newer notes taken since win). */
  restore(entries: Iterable<LastSeenEntry>): void {
    for (const e of entries) {
      this.note({ ...e, transport: e.gatewayId !== null ? Transport.TRANSPORT_HTTP : Transport.TRANSPORT_UNSPECIFIED });
    }
  }
}
