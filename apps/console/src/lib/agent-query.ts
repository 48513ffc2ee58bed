/**
 * The agents table's filter and sort order: kept in the page URL (so a view
 * can be shared and survives a reload) and turned into ListAgents query
 * parameters. The server sorts (ListAgents order_by) and pages in that order.
 */
import { CREDENTIAL_STATES, type CredentialState } from './agent-credential';
import { REMOTE_CONFIG_STATUSES, type RemoteConfigStatus } from './types';

export interface AgentFilter {
  selector: string;
  connected?: boolean;
  healthy?: boolean;
  inSync?: boolean;
  statuses: RemoteConfigStatus[];
  /** Agent credential states to include (absent: any). */
  credentialStates?: CredentialState[];
  /** Only agents whose certificate ends within this many days (expired included); absent: any. */
  certificateExpiresWithinDays?: number;
  /** Absent: the API's default order (instance UID ascending). */
  sort?: AgentSort;
}

/** The ListAgents order_by keys. */
export const AGENT_SORT_KEYS = ['instance_uid', 'service_name', 'host_name', 'last_seen', 'connected_since', 'health', 'config_status'] as const;
export type AgentSortKey = (typeof AGENT_SORT_KEYS)[number];

export interface AgentSort {
  key: AgentSortKey;
  direction: 'asc' | 'desc';
}

/** Times are most useful newest first, so their first click sorts descending. */
const FIRST_DIRECTION: Partial<Record<AgentSortKey, 'desc'>> = { last_seen: 'desc', connected_since: 'desc' };

/** The sort after clicking a column header: its first direction, then the other one, then back to the default order. */
export function nextSort(current: AgentSort | undefined, key: AgentSortKey): AgentSort | undefined {
  const first = FIRST_DIRECTION[key] ?? 'asc';
  if (current?.key !== key) return { key, direction: first };
  if (current.direction === first) return { key, direction: first === 'asc' ? 'desc' : 'asc' };
  return undefined;
}

/** URL form: "last_seen" ascending, "-last_seen" descending. */
function sortFromParam(v: string | null): AgentSort | undefined {
  if (!v) return undefined;
  const desc = v.startsWith('-');
  const key = (desc ? v.slice(1) : v) as AgentSortKey;
  return AGENT_SORT_KEYS.includes(key) ? { key, direction: desc ? 'desc' : 'asc' } : undefined;
}

export const PAGE_SIZES = [25, 50, 100, 250, 1000] as const;

function bool(v: string | null): boolean | undefined {
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

const SHORT_STATUS: Record<string, RemoteConfigStatus> = {
  unset: 'REMOTE_CONFIG_STATUS_UNSET',
  applied: 'REMOTE_CONFIG_STATUS_APPLIED',
  applying: 'REMOTE_CONFIG_STATUS_APPLYING',
  failed: 'REMOTE_CONFIG_STATUS_FAILED',
};

export function shortStatus(s: RemoteConfigStatus | string): string {
  return s.replace('REMOTE_CONFIG_STATUS_', '').toLowerCase();
}

/** A whole number of days from 1 to ten years (the API's bounds), else absent. */
function daysParam(v: string | null): number | undefined {
  const n = Number(v);
  return v && Number.isInteger(n) && n >= 1 && n <= 3650 ? n : undefined;
}

export function filterFromSearch(search: string): AgentFilter {
  const p = new URLSearchParams(search);
  const statuses = (p.get('status') ?? '')
    .split(',')
    .map((s) => SHORT_STATUS[s.trim().toLowerCase()] ?? (REMOTE_CONFIG_STATUSES.includes(s as RemoteConfigStatus) ? (s as RemoteConfigStatus) : undefined))
    .filter((s): s is RemoteConfigStatus => s !== undefined);
  const credentialStates = (p.get('credential') ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase() as CredentialState)
    .filter((s) => CREDENTIAL_STATES.includes(s));
  return {
    selector: p.get('selector') ?? '',
    connected: bool(p.get('connected')),
    healthy: bool(p.get('healthy')),
    inSync: bool(p.get('inSync')),
    statuses: [...new Set(statuses)],
    credentialStates: credentialStates.length > 0 ? [...new Set(credentialStates)] : undefined,
    certificateExpiresWithinDays: daysParam(p.get('certExpires')),
    sort: sortFromParam(p.get('sort')),
  };
}

export function filterToSearch(f: AgentFilter): string {
  const p = new URLSearchParams();
  if (f.selector.trim()) p.set('selector', f.selector.trim());
  if (f.connected !== undefined) p.set('connected', String(f.connected));
  if (f.healthy !== undefined) p.set('healthy', String(f.healthy));
  if (f.inSync !== undefined) p.set('inSync', String(f.inSync));
  if (f.statuses.length > 0) p.set('status', f.statuses.map(shortStatus).join(','));
  if (f.credentialStates?.length) p.set('credential', f.credentialStates.map((s) => s.toLowerCase()).join(','));
  if (f.certificateExpiresWithinDays) p.set('certExpires', String(f.certificateExpiresWithinDays));
  if (f.sort) p.set('sort', `${f.sort.direction === 'desc' ? '-' : ''}${f.sort.key}`);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Query parameters of GET /api/v1/agents. */
export function listAgentsQuery(f: AgentFilter, pageSize: number, pageToken = ''): Record<string, string> {
  const q: Record<string, string> = { pageSize: String(pageSize) };
  if (f.selector.trim()) q['selector'] = f.selector.trim();
  if (f.connected !== undefined) q['connected'] = String(f.connected);
  if (f.healthy !== undefined) q['healthy'] = String(f.healthy);
  if (f.inSync !== undefined) q['inSync'] = String(f.inSync);
  if (f.statuses.length > 0) q['configStatuses'] = f.statuses.join(',');
  if (f.credentialStates?.length) q['credentialState'] = f.credentialStates.join(',');
  if (f.certificateExpiresWithinDays) q['certificateExpiresWithinDays'] = String(f.certificateExpiresWithinDays);
  if (f.sort) q['orderBy'] = `${f.sort.key} ${f.sort.direction}`;
  if (pageToken) q['pageToken'] = pageToken;
  return q;
}

export function isFiltered(f: AgentFilter): boolean {
  return f.selector.trim() !== '' || f.connected !== undefined || f.healthy !== undefined || f.inSync !== undefined || f.statuses.length > 0 || (f.credentialStates?.length ?? 0) > 0 || f.certificateExpiresWithinDays !== undefined;
}
