/**
 * ListAuditEvents text search: every word of the query must occur,
 * case-insensitively, in one of an event's text fields. Words become ILIKE
 * patterns with LIKE's wildcards escaped, so "%" or "_" match themselves.
 */
import { invalidArgument } from './errors';

export const AUDIT_QUERY_MAX_LENGTH = 200;

export function auditSearchPatterns(query: string): string[] {
  const q = query.trim();
  if (q.length > AUDIT_QUERY_MAX_LENGTH) throw invalidArgument(`query is limited to ${AUDIT_QUERY_MAX_LENGTH} characters`);
  return q ? q.split(/\s+/).map((word) => `%${word.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`) : [];
}

/** The condition one pattern ($n) puts on an audit_log row. */
export function auditSearchSql(param: string): string {
  return `(actor ILIKE ${param} OR action ILIKE ${param} OR resource_type ILIKE ${param} OR resource_name ILIKE ${param} OR details::text ILIKE ${param})`;
}
