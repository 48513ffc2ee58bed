/**
 * ListAgents sort orders and keyset (seek) paging over them. A page token
 * holds the last row's position in the order — its sort value and instance
 * uid — so the next page starts with an index seek instead of skipping rows
 * (OFFSET gets slower with every page and shifts when agents come and go).
 *
 * Agents without a value for the key come last in both directions: each
 * page is read as two index-ordered segments, the agents with a value and
 * then those without, so every order (ascending and descending) is an index
 * scan over one btree (tenant_id, key, instance_uid) (migration 0130).
 */
import { echo, invalidArgument } from './errors';

export const AGENT_SORT_KEYS = ['instance_uid', 'service_name', 'host_name', 'last_seen', 'connected_since', 'health', 'config_status'] as const;
export type AgentSortKey = (typeof AGENT_SORT_KEYS)[number];
export type SortDirection = 'asc' | 'desc';

export interface AgentOrder {
  readonly key: AgentSortKey;
  readonly direction: SortDirection;
}

/** Where a page ended: the last row's sort value (null: it had none) and instance uid (hex). */
export interface AgentPagePosition {
  readonly value: string | null;
  readonly instanceUid: string;
}

type ValueType = 'text' | 'timestamptz' | 'boolean' | 'smallint';

interface SortKeySql {
  /** The sort value over agents `a`; null for instance_uid itself. Must match the index expression of migration 0130. */
  readonly expr: string | null;
  readonly type: ValueType;
  readonly nullable: boolean;
}

const SORT_SQL: Record<AgentSortKey, SortKeySql> = {
  instance_uid: { expr: null, type: 'text', nullable: false },
  service_name: { expr: `(a.labels ->> 'service.name')`, type: 'text', nullable: true },
  host_name: { expr: `(a.labels ->> 'host.name')`, type: 'text', nullable: true },
  last_seen: { expr: 'a.last_seen_at', type: 'timestamptz', nullable: true },
  // connected_since is kept after a disconnect; the API shows it only while connected, and sorts the same way.
  connected_since: { expr: '(CASE WHEN a.connected THEN a.connected_since END)', type: 'timestamptz', nullable: true },
  health: { expr: 'a.healthy', type: 'boolean', nullable: true },
  config_status: { expr: 'a.remote_config_status', type: 'smallint', nullable: false },
};

/** Token values must parse back to exactly the stored value (timestamps to the microsecond). */
const VALUE_FORMAT: Record<ValueType, RegExp> = {
  text: /^[\s\S]{0,4096}$/,
  timestamptz: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/,
  boolean: /^(true|false)$/,
  smallint: /^-?\d{1,5}$/,
};

export const DEFAULT_AGENT_ORDER: AgentOrder = { key: 'instance_uid', direction: 'asc' };

const UID_HEX = /^[0-9a-f]{32}$/;
const TOKEN_PREFIX = 'agents:';

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Parses ListAgentsRequest.order_by: "<key> [asc|desc]", the key in snake_case or lowerCamelCase. */
export function parseAgentOrder(text: string): AgentOrder {
  const trimmed = text.trim();
  if (!trimmed) return DEFAULT_AGENT_ORDER;
  if (trimmed.includes(',')) throw invalidArgument(`order_by takes one sort key (ties are ordered by instance_uid), got ${echo(text)}`);
  const words = trimmed.split(/\s+/);
  if (words.length > 2) throw invalidArgument(`order_by must be "<key>" or "<key> asc|desc", got ${echo(text)}`);
  const key = snakeCase(words[0]) as AgentSortKey;
  if (!AGENT_SORT_KEYS.includes(key)) throw invalidArgument(`order_by: unknown sort key ${echo(words[0])}; one of ${AGENT_SORT_KEYS.join(', ')}`);
  const direction = (words[1] ?? 'asc').toLowerCase();
  if (direction !== 'asc' && direction !== 'desc') throw invalidArgument(`order_by: direction must be asc or desc, got ${echo(words[1])}`);
  return { key, direction };
}

export function formatAgentOrder(order: AgentOrder): string {
  return `${order.key} ${order.direction}`;
}

export function encodeAgentPageToken(order: AgentOrder, position: AgentPagePosition): string {
  return Buffer.from(`${TOKEN_PREFIX}${JSON.stringify({ o: formatAgentOrder(order), v: position.value, u: position.instanceUid })}`, 'utf8').toString('base64url');
}

/** The position a page token continues from; INVALID_ARGUMENT when it is malformed or was issued for another order. */
export function decodeAgentPageToken(token: string, order: AgentOrder): AgentPagePosition {
  const bad = () => invalidArgument('page_token is not valid for this request');
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(TOKEN_PREFIX)) throw bad();
  let body: unknown;
  try {
    body = JSON.parse(text.slice(TOKEN_PREFIX.length));
  } catch {
    throw bad();
  }
  if (typeof body !== 'object' || body === null) throw bad();
  const { o, v, u } = body as Record<string, unknown>;
  if (typeof o !== 'string' || typeof u !== 'string' || !UID_HEX.test(u)) throw bad();
  const wanted = formatAgentOrder(order);
  if (o !== wanted) {
    throw invalidArgument(`page_token continues order_by "${o}", not "${wanted}": keep the order_by of the first page, or start again without a page token`);
  }
  const sql = SORT_SQL[order.key];
  if (sql.expr === null) {
    if (v !== null) throw bad();
  } else if (v === null ? !sql.nullable : typeof v !== 'string' || !VALUE_FORMAT[sql.type].test(v)) {
    throw bad();
  }
  return { value: v as string | null, instanceUid: u };
}

/** The sort value as text in the token (timestamps in UTC to the microsecond, so they compare exactly). */
function tokenValueSql(key: SortKeySql): string {
  if (key.expr === null) return 'NULL::text';
  if (key.type === 'timestamptz') return `to_char(${key.expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
  return `(${key.expr})::text`;
}

export interface AgentPageQuery {
  readonly order: AgentOrder;
  /** Select list and FROM over agents `a` (the same columns in each segment). */
  readonly columns: string;
  readonly from: string;
  /** Filters (tenant, selector, state), their parameters numbered from $1. */
  readonly where: readonly string[];
  readonly params: readonly unknown[];
  readonly after: AgentPagePosition | null;
  /** Rows to read (one more than the page size tells whether there is a next page). */
  readonly limit: number;
}

/**
 * One page of agents in `order` after `after`. Rows carry `sort_value` (text,
 * null when the agent has no value) for the next page token. Each segment is
 * ORDER BY key, instance_uid LIMIT n over the order's index; the outer ORDER BY
 * only puts at most 2n rows in segment order.
 */
export function agentPageSql(q: AgentPageQuery): { sql: string; params: unknown[] } {
  const params = [...q.params];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const key = SORT_SQL[q.order.key];
  const dir = q.order.direction === 'asc' ? 'ASC' : 'DESC';
  const cmp = q.order.direction === 'asc' ? '>' : '<';
  const uid = (hex: string) => `${p(Buffer.from(hex, 'hex'))}::bytea`;
  const where = (extra: string[]) => [...q.where, ...extra].map((w) => `(${w})`).join(' AND ');
  const limit = p(q.limit);

  if (key.expr === null) {
    const seek = q.after ? [`a.instance_uid ${cmp} ${uid(q.after.instanceUid)}`] : [];
    return { sql: `SELECT ${q.columns}, NULL::text AS sort_value FROM ${q.from} WHERE ${where(seek)} ORDER BY a.instance_uid ${dir} LIMIT ${limit}`, params };
  }

  const valueSegment = (): string => {
    const seek = q.after && q.after.value !== null ? [`(${key.expr}, a.instance_uid) ${cmp} (${p(q.after.value)}::${key.type}, ${uid(q.after.instanceUid)})`] : [];
    const notNull = key.nullable ? [`${key.expr} IS NOT NULL`] : [];
    return `SELECT ${q.columns}, ${tokenValueSql(key)} AS sort_value, 0 AS sort_segment, ${key.expr} AS sort_key
      FROM ${q.from} WHERE ${where([...notNull, ...seek])} ORDER BY ${key.expr} ${dir}, a.instance_uid ${dir} LIMIT ${limit}`;
  };
  if (!key.nullable) {
    return { sql: valueSegment(), params };
  }
  const nullSegment = (): string => {
    const seek = q.after && q.after.value === null ? [`a.instance_uid ${cmp} ${uid(q.after.instanceUid)}`] : [];
    // Ordered by the (all NULL) key too: the planner does not infer that IS NULL fixes the key, and would sort every such row.
    return `SELECT ${q.columns}, NULL::text AS sort_value, 1 AS sort_segment, NULL::${key.type} AS sort_key
      FROM ${q.from} WHERE ${where([`${key.expr} IS NULL`, ...seek])} ORDER BY ${key.expr} ${dir}, a.instance_uid ${dir} LIMIT ${limit}`;
  };
  // A token from the segment without values has nothing left in the other one.
  const segments = q.after && q.after.value === null ? [nullSegment()] : [valueSegment(), nullSegment()];
  return {
    sql: `SELECT * FROM (${segments.map((s) => `(${s})`).join(' UNION ALL ')}) page
      ORDER BY sort_segment, sort_key ${dir}, instance_uid ${dir} LIMIT ${limit}`,
    params,
  };
}

/** Where the page that ends with this row stops (row from agentPageSql). */
export function agentPagePosition(row: Record<string, unknown>, instanceUidHex: string): AgentPagePosition {
  const v = row['sort_value'];
  return { value: v === null || v === undefined ? null : String(v), instanceUid: instanceUidHex };
}
