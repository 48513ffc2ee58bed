/**
 * How the platform API reads request fields: the transports decode requests
 * into plain objects (proto3 names in lowerCamelCase, enums as names), and
 * every API resource reads its fields through these, so that one rule holds
 * for every rpc (what a missing value means, which values are refused).
 */
import { invalidArgument } from '../core';
import { MAX_PAGE_SIZE } from '../core/limits';

export type Req = Record<string, unknown>;

export const STATUS_NAMES = ['REMOTE_CONFIG_STATUS_UNSET', 'REMOTE_CONFIG_STATUS_APPLIED', 'REMOTE_CONFIG_STATUS_APPLYING', 'REMOTE_CONFIG_STATUS_FAILED'];
const UID_HEX = /^[0-9a-f]{32}$/;

export function str(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

export function int(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v ?? 0);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

export function hex(b: Buffer | null): string {
  return b ? b.toString('hex') : '';
}

export function pageSize(v: unknown, def = 100): number {
  const n = int(v);
  if (n < 0 || n > MAX_PAGE_SIZE) throw invalidArgument(`page_size must be between 1 and ${MAX_PAGE_SIZE}`);
  return n === 0 ? def : n;
}

export function instanceUid(v: unknown): Buffer {
  const s = str(v).toLowerCase().replace(/-/g, '');
  if (!UID_HEX.test(s)) throw invalidArgument(`instance_uid must be 32 hex digits (16 bytes), got ${JSON.stringify(str(v))}`);
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
    if (i < 0 || i >= STATUS_NAMES.length) throw invalidArgument(`config_statuses: unknown status ${JSON.stringify(s)}`);
    return i;
  });
}
