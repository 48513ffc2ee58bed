/**
 * How the platform API reads request fields: the transports decode requests
 * into plain objects (proto3 names in lowerCamelCase, enums as names), and
 * every API resource reads its fields through these, so that one rule holds
 * for every rpc (what a missing value means, which values are refused).
 */
import { echo, invalidArgument } from '../core';
import { MAX_ECHO_CHARS, MAX_PAGE_SIZE } from '../core/limits';

export type Req = Record<string, unknown>;

export const STATUS_NAMES = ['REMOTE_CONFIG_STATUS_UNSET', 'REMOTE_CONFIG_STATUS_APPLIED', 'REMOTE_CONFIG_STATUS_APPLYING', 'REMOTE_CONFIG_STATUS_FAILED'];
const UID_HEX = /^[0-9a-f]{32}$/;

export function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

/** The integer types of fleet_api.proto, and what each may carry here. */
export type IntType = 'int32' | 'uint32' | 'int64' | 'uint64';
const INT_RANGE: Record<IntType, readonly [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  // 64-bit fields are read as JavaScript numbers: beyond 2^53 they would silently round.
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * An integer field (`field` as in the .proto): absent is 0 (proto3's
 * default); a non-integer, NaN, ±Infinity or a value beyond the field's type
 * is INVALID_ARGUMENT naming the field, never truncated or wrapped. gRPC
 * delivers 64-bit fields as decimal strings.
 */
export function int(v: unknown, field: string, type: IntType = 'int32'): number {
  if (v === undefined || v === null || v === '') return 0;
  const [min, max] = INT_RANGE[type];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d{1,20}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw invalidArgument(`${field} must be an integer between ${min} and ${max}, got ${echo(v)}`);
  return n;
}

/**
 * NUL characters anywhere in a request (values and map keys): PostgreSQL
 * text and jsonb cannot hold U+0000, so one in any field would otherwise
 * fail at the database as an internal error. Bytes fields are not text.
 */
export function rejectNulText(req: unknown, path = ''): void {
  if (typeof req === 'string') {
    if (req.includes('\u0000')) throw invalidArgument(`${path || 'request'} must not contain NUL characters (U+0000)`);
    return;
  }
  if (req === null || typeof req !== 'object' || Buffer.isBuffer(req) || req instanceof Uint8Array) return;
  if (Array.isArray(req)) {
    req.forEach((v, i) => rejectNulText(v, `${path}[${i}]`));
    return;
  }
  for (const [k, v] of Object.entries(req as Record<string, unknown>)) {
    // A map key is the caller's (a file name, a label): a long one is named capped.
    const name = k.length > MAX_ECHO_CHARS ? echo(k) : k;
    const at = path ? `${path}.${name}` : name;
    if (k.includes('\u0000')) throw invalidArgument(`the name of ${path || 'a request field'} must not contain NUL characters (U+0000), got ${echo(k)}`);
    rejectNulText(v, at);
  }
}

export function hex(b: Buffer | null): string {
  return b ? b.toString('hex') : '';
}

export function pageSize(v: unknown, def = 100): number {
  const n = int(v, 'page_size');
  if (n < 0 || n > MAX_PAGE_SIZE) throw invalidArgument(`page_size must be between 1 and ${MAX_PAGE_SIZE}`);
  return n === 0 ? def : n;
}

export function instanceUid(v: unknown): Buffer {
  const s = str(v).toLowerCase().replace(/-/g, '');
  if (!UID_HEX.test(s)) throw invalidArgument(`instance_uid must be 32 hex digits (16 bytes), got ${echo(str(v))}`);
  return Buffer.from(s, 'hex');
}

/** The position a page token of kind `what` holds, or null for the first page. */
export function pageToken(v: unknown, what: string): string | null {
  const s = str(v);
  if (!s) return null;
  const decoded = Buffer.from(s, 'base64url').toString('utf8');
  if (!decoded.startsWith(`${what}:`)) throw invalidArgument('page_token is not valid for this request');
  return decoded.slice(what.length + 1);
}

export function makePageToken(what: string, value: string): string {
  return Buffer.from(`${what}:${value}`, 'utf8').toString('base64url');
}

/** Config statuses of a filter, by name or number. */
export function configStatuses(v: unknown): number[] {
  const statuses = Array.isArray(v) ? (v as unknown[]) : [];
  return statuses.map((s) => {
    const i = typeof s === 'number' ? s : STATUS_NAMES.indexOf(str(s));
    if (i < 0 || i >= STATUS_NAMES.length) throw invalidArgument(`config_statuses: unknown status ${echo(s)}`);
    return i;
  });
}
