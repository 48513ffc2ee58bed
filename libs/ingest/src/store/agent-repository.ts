/**
 * The agents table and the content-addressed tables, over the SqlDatabase port
 * (portable PostgreSQL: the embedded mode runs the same statements on PGlite).
 *
 * Writes are batched: one multi-row upsert per batch of changed agents. The
 * upsert is guarded in its WHERE clause so a replayed or concurrent write never
 * moves a row backwards: it applies only if it carries a newer record_version,
 * an epoch no older, and a (seq_epoch, sequence) no older than the row's.
 */
import type { SqlExecutor } from '@opamp/store';
import { Transport, type AgentState, type ContentBlob } from '../core/agent-state';
import { INGEST_DEFAULTS } from '../core/ingest-defaults';
import type { LastSeenEntry } from '../core/last-seen-buffer';
import type { JsonObject, JsonValue } from '../core/json';

export function stateKey(tenantId: string, instanceUid: Uint8Array): string {
  return `${tenantId}/${Buffer.from(instanceUid).toString('hex')}`;
}

export interface AgentKey {
  tenantId: string;
  instanceUid: Buffer;
}

type Row = Record<string, unknown>;

interface Column {
  name: string;
  cast: string;
  get(s: AgentState): unknown;
  set(s: AgentState, v: unknown): void;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const buf = (v: unknown): Buffer | null => (v === null || v === undefined ? null : Buffer.from(v as Uint8Array));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown, fallback: T): T => {
  if (v === null || v === undefined) return fallback;
  return (typeof v === 'string' ? JSON.parse(v) : v) as T;
};
const ms = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v.getTime() : new Date(String(v)).getTime();
};
const date = (v: number | null): Date | null => (v === null ? null : new Date(v));

function col<K extends keyof AgentState>(
  name: string,
  cast: string,
  key: K,
  read: (v: unknown) => AgentState[K],
  write: (v: AgentState[K]) => unknown = (v) => v,
): Column {
  return {
    name,
    cast,
    get: (s) => write(s[key]),
    set: (s, v) => {
      s[key] = read(v);
    },
  };
}

const COLUMNS: Column[] = [
  col('tenant_id', 'text', 'tenantId', (v) => String(v)),
  col('instance_uid', 'bytea', 'instanceUid', (v) => buf(v) as Buffer),
  col('capabilities', 'bigint', 'capabilities', num),
  col('description_reported', 'boolean', 'descriptionReported', (v) => v === true),
  col('identifying_attributes', 'jsonb', 'identifyingAttributes', (v) => json<JsonObject>(v, {}), (v) => JSON.stringify(v)),
  col('non_identifying_attributes', 'jsonb', 'nonIdentifyingAttributes', (v) => json<JsonObject>(v, {}), (v) => JSON.stringify(v)),
  col('labels', 'jsonb', 'labels', (v) => json<Record<string, string>>(v, {}), (v) => JSON.stringify(v)),
  col('enrollment_labels', 'jsonb', 'enrollmentLabels', (v) => json<Record<string, string>>(v, {}), (v) => JSON.stringify(v)),
  col('health', 'jsonb', 'health', (v) => json<JsonObject | null>(v, null), (v) => (v === null ? null : JSON.stringify(v))),
  col('healthy', 'boolean', 'healthy', (v) => (v === null || v === undefined ? null : v === true)),
  col('effective_config_hash', 'bytea', 'effectiveConfigHash', buf),
  col('remote_config_hash', 'bytea', 'remoteConfigHash', buf),
  col('remote_config_status', 'smallint', 'remoteConfigStatus', num),
  col('remote_config_error', 'text', 'remoteConfigError', str),
  col('package_statuses', 'jsonb', 'packageStatuses', (v) => json<JsonObject | null>(v, null), (v) => (v === null ? null : JSON.stringify(v))),
  col('packages_hash', 'bytea', 'packagesHash', buf),
  col('custom_capabilities', 'jsonb', 'customCapabilities', (v) => json<string[]>(v, []), (v) => JSON.stringify(v)),
  col('available_components_hash', 'bytea', 'availableComponentsHash', buf),
  col('connection_settings_hash', 'bytea', 'connectionSettingsHash', buf),
  col('connection_settings_status', 'smallint', 'connectionSettingsStatus', num),
  col('connection_settings_error', 'text', 'connectionSettingsError', str),
  col('epoch', 'bigint', 'epoch', num),
  col('seq_epoch', 'bigint', 'seqEpoch', num),
  col('last_sequence_num', 'bigint', 'lastSequenceNum', numOrNull),
  col('full_state_requested', 'boolean', 'fullStateRequested', (v) => v === true),
  col('components_requested_hash', 'bytea', 'componentsRequestedHash', buf),
  col('connected', 'boolean', 'connected', (v) => v === true),
  col('stale', 'boolean', 'stale', (v) => v === true),
  col('gateway_id', 'text', 'gatewayId', str),
  col('connection_id', 'text', 'connectionId', str),
  col('transport', 'smallint', 'transport', num),
  col('connected_since', 'timestamptz', 'connectedSinceMs', ms, date),
  col('last_seen_at', 'timestamptz', 'lastSeenMs', ms, date),
  col('disconnect_reason', 'smallint', 'disconnectReason', numOrNull),
  col('client_identity', 'text', 'clientIdentity', str),
  col('credential_id', 'text', 'credentialId', str),
  col('credential_kind', 'smallint', 'credentialKind', num),
  col('replaced_by', 'bytea', 'replacedBy', buf),
  col('reassigned_connection_id', 'text', 'reassignedConnectionId', str),
  col('record_version', 'bigint', 'recordVersion', num),
];

const COLUMN_LIST = COLUMNS.map((c) => c.name).join(', ');
const QUALIFIED_COLUMN_LIST = COLUMNS.map((c) => `a.${c.name}`).join(', ');
const UPDATE_SET = COLUMNS.filter((c) => c.name !== 'tenant_id' && c.name !== 'instance_uid')
  .map((c) => `${c.name} = EXCLUDED.${c.name}`)
  .concat('updated_at = now()')
  .join(', ');
const UPSERT_GUARD = `agents.record_version < EXCLUDED.record_version
  AND agents.epoch <= EXCLUDED.epoch
  AND (agents.seq_epoch < EXCLUDED.seq_epoch
       OR (agents.seq_epoch = EXCLUDED.seq_epoch
           AND COALESCE(agents.last_sequence_num, -1) <= COALESCE(EXCLUDED.last_sequence_num, -1)))`;

/**
 * Rows per upsert statement. The rows travel as one array per column (unnest), so the statement
 * text and its plan are the same for every batch; a VALUES list of 40 parameters per row was
 * parsed and planned anew for each batch size and cost twice as much per row.
 */
const ROWS_PER_STATEMENT = 2000;

/** jsonb travels as text (both drivers pass text[] alike) and is cast back in the SELECT. */
const arrayCast = (c: Column): string => `${c.cast === 'jsonb' ? 'text' : c.cast}[]`;
const UPSERT_SQL = `INSERT INTO agents (${COLUMN_LIST})
  SELECT ${COLUMNS.map((c) => (c.cast === 'jsonb' ? `v.${c.name}::jsonb` : `v.${c.name}`)).join(', ')}
    FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${arrayCast(c)}`).join(', ')}) AS v(${COLUMN_LIST})
  ON CONFLICT (tenant_id, instance_uid) DO UPDATE SET ${UPDATE_SET}
  WHERE ${UPSERT_GUARD}`;

export function rowToState(row: Row): AgentState {
  const s = {} as AgentState;
  for (const c of COLUMNS) c.set(s, row[c.name]);
  return s;
}

export class AgentRepository {
  private readonly knownTenants = new Set<string>();

  /** Tenants referenced by agents exist (agents of a tenant nobody created yet are still recorded). */
  async ensureTenants(tx: SqlExecutor, tenantIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(tenantIds)].filter((t) => !this.knownTenants.has(t));
    if (missing.length === 0) return;
    const params: unknown[] = [];
    const values = missing.map((t) => {
      params.push(t);
      return `($${params.length}::text, $${params.length}::text)`;
    });
    await tx.query(`INSERT INTO tenants (id, name) VALUES ${values.join(', ')} ON CONFLICT (id) DO NOTHING`, params);
  }

  /** After the transaction that ensured them committed: no need to insert them again. */
  tenantsCommitted(tenantIds: Iterable<string>): void {
    for (const t of tenantIds) this.knownTenants.add(t);
  }

  /**
   * Loads and row-locks the records of `keys` (in key order, so concurrent batches never deadlock).
   * NO KEY UPDATE, the lock an UPDATE of these columns takes: it orders ingest batches and waits for
   * a deletion (FOR UPDATE), but leaves the reconciler's KEY SHARE joins on the same rows
   * (existingAgentsOnly) alone, which lock in their own order: with FOR UPDATE the two deadlocked
   * at 100,000 agents.
   */
  async loadForUpdate(tx: SqlExecutor, keys: readonly AgentKey[], skipLocked = false): Promise<Map<string, AgentState>> {
    const out = new Map<string, AgentState>();
    if (keys.length === 0) return out;
    // The keys as two arrays joined on the primary key: one plan whatever the batch size. A
    // row-constructor IN list of hundreds of keys cost 5x more (its OR of ANDs is planned per
    // key), and took most of PostgreSQL's time at 50,000 registering agents.
    const { rows } = await tx.query(
      `SELECT ${QUALIFIED_COLUMN_LIST} FROM unnest($1::text[], $2::bytea[]) AS k(tenant_id, instance_uid)
         JOIN agents a ON a.tenant_id = k.tenant_id AND a.instance_uid = k.instance_uid
        ORDER BY a.tenant_id, a.instance_uid FOR NO KEY UPDATE OF a${skipLocked ? ' SKIP LOCKED' : ''}`,
      [keys.map((k) => k.tenantId), keys.map((k) => k.instanceUid)],
    );
    for (const row of rows) {
      const s = rowToState(row);
      out.set(stateKey(s.tenantId, s.instanceUid), s);
    }
    return out;
  }

  /** Reads records without locking (API views and tests). */
  async get(db: SqlExecutor, tenantId: string, instanceUid: Uint8Array): Promise<AgentState | null> {
    const { rows } = await db.query(`SELECT ${COLUMN_LIST} FROM agents WHERE tenant_id = $1 AND instance_uid = $2::bytea`, [
      tenantId,
      Buffer.from(instanceUid),
    ]);
    return rows.length > 0 ? rowToState(rows[0]) : null;
  }

  /** Row-locks and loads up to `limit` records counted connected, of every tenant, in key order. */
  async loadConnectedForUpdate(tx: SqlExecutor, limit: number): Promise<AgentState[]> {
    const { rows } = await tx.query(
      `SELECT ${COLUMN_LIST} FROM agents WHERE connected AND replaced_by IS NULL
        ORDER BY tenant_id, instance_uid LIMIT $1 FOR UPDATE`,
      [limit],
    );
    return rows.map(rowToState);
  }

  /** Agents of a tenant counted connected whose row was last seen at or before `cutoffMs`, oldest first. */
  async silentConnected(db: SqlExecutor, tenantId: string, cutoffMs: number, limit: number): Promise<Buffer[]> {
    const { rows } = await db.query<{ instance_uid: Uint8Array }>(
      `SELECT instance_uid FROM agents
        WHERE tenant_id = $1 AND connected AND replaced_by IS NULL AND last_seen_at <= $2
        ORDER BY last_seen_at, instance_uid LIMIT $3`,
      [tenantId, new Date(cutoffMs), limit],
    );
    return rows.map((r) => Buffer.from(r.instance_uid));
  }

  /** Which of these available-components hashes are stored. */
  async knownComponentHashes(tx: SqlExecutor, hashes: readonly Buffer[]): Promise<Set<string>> {
    const known = new Set<string>();
    if (hashes.length === 0) return known;
    const params: unknown[] = [];
    const list = hashes.map((h) => {
      params.push(h);
      return `$${params.length}::bytea`;
    });
    const { rows } = await tx.query<{ hash: Uint8Array }>(`SELECT hash FROM available_components WHERE hash IN (${list.join(', ')})`, params);
    for (const r of rows) known.add(Buffer.from(r.hash).toString('hex'));
    return known;
  }

  async saveEffectiveConfigs(tx: SqlExecutor, blobs: readonly ContentBlob<Buffer>[]): Promise<void> {
    if (blobs.length === 0) return;
    const params: unknown[] = [];
    const values = blobs.map((b) => {
      params.push(b.hash, b.content, b.content.length);
      const n = params.length;
      return `($${n - 2}::bytea, $${n - 1}::bytea, $${n}::integer)`;
    });
    await tx.query(
      `INSERT INTO effective_configs (hash, config_map, size_bytes) VALUES ${values.join(', ')} ON CONFLICT (hash) DO NOTHING`,
      params,
    );
  }

  async saveAvailableComponents(tx: SqlExecutor, blobs: readonly ContentBlob<JsonValue>[]): Promise<void> {
    if (blobs.length === 0) return;
    const params: unknown[] = [];
    const values = blobs.map((b) => {
      params.push(b.hash, JSON.stringify(b.content));
      return `($${params.length - 1}::bytea, $${params.length}::jsonb)`;
    });
    await tx.query(`INSERT INTO available_components (hash, components) VALUES ${values.join(', ')} ON CONFLICT (hash) DO NOTHING`, params);
  }

  /**
   * Writes the records in batched, guarded upserts. Each state must carry the
   * record_version it is to have (the loaded one + 1). Returns the rows written.
   */
  async upsert(tx: SqlExecutor, states: readonly AgentState[]): Promise<number> {
    let written = 0;
    for (let i = 0; i < states.length; i += ROWS_PER_STATEMENT) {
      const chunk = states.slice(i, i + ROWS_PER_STATEMENT);
      const res = await tx.query(UPSERT_SQL, COLUMNS.map((c) => chunk.map((s) => c.get(s))));
      written += res.rowCount ?? 0;
    }
    return written;
  }

  /**
   * Writes buffered last-seen times of one tenant (entries in instance_uid order)
   * and, for agents still connected over plain HTTP, their current owner. A row
   * only moves forward (a newer last_seen_at wins, e.g. a full-path write since);
   * record_version stays: these are the volatile fields no event is about. Rows
   * are locked in instance_uid order, the order ingest's transactions lock them
   * in, so the two never deadlock; NO KEY UPDATE, like ingest's batches, so the
   * reconciler's KEY SHARE joins (in their own order) are never waited on.
   * Returns the rows written.
   */
  async writeLastSeen(tx: SqlExecutor, tenantId: string, entries: readonly LastSeenEntry[]): Promise<number> {
    let written = 0;
    const step = INGEST_DEFAULTS.lastSeenRowsPerStatement;
    for (let i = 0; i < entries.length; i += step) {
      const chunk = entries.slice(i, i + step);
      const res = await tx.query(
        `WITH v AS (SELECT * FROM unnest($2::bytea[], $3::timestamptz[], $4::text[], $5::text[]) AS v(uid, seen, gw, conn)),
         locked AS MATERIALIZED (
           SELECT a.instance_uid FROM agents a JOIN v ON a.instance_uid = v.uid
            WHERE a.tenant_id = $1 AND (a.last_seen_at IS NULL OR a.last_seen_at < v.seen)
            ORDER BY a.instance_uid FOR NO KEY UPDATE OF a)
         UPDATE agents a SET last_seen_at = v.seen,
                gateway_id = CASE WHEN a.connected AND a.transport = ${Transport.TRANSPORT_HTTP} AND v.gw IS NOT NULL THEN v.gw ELSE a.gateway_id END,
                connection_id = CASE WHEN a.connected AND a.transport = ${Transport.TRANSPORT_HTTP} AND v.gw IS NOT NULL THEN v.conn ELSE a.connection_id END
           FROM v, locked
          WHERE a.tenant_id = $1 AND a.instance_uid = locked.instance_uid AND v.uid = locked.instance_uid
            AND (a.last_seen_at IS NULL OR a.last_seen_at < v.seen)`,
        [
          tenantId,
          chunk.map((e) => e.instanceUid),
          chunk.map((e) => new Date(e.lastSeenMs)),
          chunk.map((e) => e.gatewayId),
          chunk.map((e) => e.connectionId),
        ],
      );
      written += res.rowCount ?? 0;
    }
    return written;
  }

  /** The stored effective config (AgentConfigMap, protobuf-encoded) of a hash. */
  async effectiveConfig(db: SqlExecutor, hash: Uint8Array): Promise<Buffer | null> {
    const { rows } = await db.query<{ config_map: Uint8Array }>(`SELECT config_map FROM effective_configs WHERE hash = $1::bytea`, [
      Buffer.from(hash),
    ]);
    return rows.length > 0 ? Buffer.from(rows[0].config_map) : null;
  }

  async availableComponents(db: SqlExecutor, hash: Uint8Array): Promise<JsonValue | null> {
    const { rows } = await db.query<{ components: unknown }>(`SELECT components FROM available_components WHERE hash = $1::bytea`, [
      Buffer.from(hash),
    ]);
    return rows.length > 0 ? json<JsonValue>(rows[0].components, null) : null;
  }
}
