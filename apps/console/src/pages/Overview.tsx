/**
 * Fleet totals and a breakdown by any label, live: one GetFleetSummary call
 * (a single aggregate on the server, fast at 100,000 agents) every 3 s while
 * the tab is visible. Sync counts and shares are of the managed agents (an
 * assignment selects them); unmanaged agents are counted apart (lib/fleet-summary syncView).
 */
import { useState } from 'react';
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { filterToSearch, type AgentFilter } from '../lib/agent-query';
import { breakdownRows, chooseGroupBy, selectorForLabel, summaryTotals, syncView, type SyncView } from '../lib/fleet-summary';
import { formatCount } from '../lib/format';
import type { FleetSummaryResponse } from '../lib/types';
import { Link } from '../router';
import { Card, ErrorBox, LiveIndicator, PageHeader } from '../components/ui';
import { FleetOwnMetrics } from '../components/FleetOwnMetrics';

const POLL_MS = 3000;

type CardKey = 'agents' | 'connected' | 'healthy' | 'unhealthy' | 'inSync' | 'outOfSync' | 'unmanaged' | 'configFailed' | 'configApplying' | 'disconnected';

/** A card's count and share (of all agents, or of the managed ones for sync); no filter: ListAgents cannot select unassigned agents. */
const CARDS: { key: CardKey; label: string; tone?: string; filter?: Partial<AgentFilter>; hint?: string }[] = [
  { key: 'agents', label: 'Agents', filter: {} },
  { key: 'connected', label: 'Connected', tone: 'ok', filter: { connected: true } },
  { key: 'healthy', label: 'Healthy', tone: 'ok', filter: { healthy: true } },
  { key: 'unhealthy', label: 'Unhealthy', tone: 'bad', filter: { healthy: false } },
  { key: 'inSync', label: 'In sync', tone: 'ok', filter: { inSync: true }, hint: 'of the managed agents: running the configuration assigned to them' },
  { key: 'outOfSync', label: 'Out of sync', tone: 'warn', filter: { inSync: false }, hint: 'of the managed agents: not running the configuration assigned to them (the list also shows unmanaged agents)' },
  { key: 'unmanaged', label: 'Unmanaged', hint: 'no assignment selects them: the server sends them no configuration' },
  { key: 'configFailed', label: 'Config FAILED', tone: 'bad', filter: { statuses: ['REMOTE_CONFIG_STATUS_FAILED'] } },
  { key: 'configApplying', label: 'Applying', tone: 'warn', filter: { statuses: ['REMOTE_CONFIG_STATUS_APPLYING'] } },
  { key: 'disconnected', label: 'Disconnected', tone: 'warn', filter: { connected: false } },
];

function cardValue(key: CardKey, t: ReturnType<typeof summaryTotals>, v: SyncView): { n: number; share?: number } {
  if (key === 'agents') return { n: t.agents };
  if (key === 'inSync') return { n: v.inSync, share: v.inSyncPercent };
  if (key === 'outOfSync') return { n: v.outOfSync, share: v.outOfSyncPercent };
  if (key === 'unmanaged') return { n: v.unmanaged, share: v.unmanagedPercent };
  return { n: t[key], share: t.agents > 0 ? Math.round((100 * t[key]) / t.agents) : undefined };
}

function agentsLink(filter: Partial<AgentFilter>): string {
  return `/agents${filterToSearch({ selector: '', statuses: [], ...filter })}`;
}

export function Overview() {
  const api = useApi();
  const now = useNow();
  const [wanted, setWanted] = useState<string>('');
  // The label keys come with every summary; the first call (no group yet) learns them.
  const [knownKeys, setKnownKeys] = useState<string[]>([]);
  const groupBy = chooseGroupBy(knownKeys, wanted);
  const summary = usePoll(
    async (signal) => {
      const started = performance.now();
      const s = await api.get<FleetSummaryResponse>('/fleet-summary', { groupBy }, signal);
      setKnownKeys((prev) => (prev.join('\u0000') === s.labelKeys.join('\u0000') ? prev : s.labelKeys));
      return { s, ms: performance.now() - started };
    },
    POLL_MS,
    [api, groupBy],
  );
  const s = summary.data?.s;
  const keys = s?.labelKeys ?? knownKeys;
  const activeKey = groupBy;
  // Rows of the label asked for only (a summary of the previous label may still be shown while it loads).
  const rows = s && s.groupBy === groupBy ? breakdownRows(s) : [];
  const t = s ? summaryTotals(s) : undefined;
  const sync = t ? syncView(t) : undefined;

  return (
    <div>
      <PageHeader title="Fleet overview" subtitle={<LiveIndicator updatedAt={summary.updatedAt} now={now} error={summary.error} />} />
      <ErrorBox error={summary.error} title="Could not load the fleet summary" />
      <div className="stats" data-testid="totals">
        {CARDS.map((c) => {
          const value = t && sync ? cardValue(c.key, t, sync) : undefined;
          const body = (
            <>
              <div className="stat-value">{value ? formatCount(value.n) : '…'}</div>
              <div className="stat-label">{c.label}</div>
              {value?.share !== undefined && c.key !== 'agents' && <div className="stat-share">{value.share}%</div>}
            </>
          );
          return c.filter ? (
            <Link key={c.key} to={agentsLink(c.filter)} className={`stat ${c.tone ? `stat-${c.tone}` : ''}`} data-testid={`total-${c.key}`} title={c.hint}>
              {body}
            </Link>
          ) : (
            <div key={c.key} className="stat stat-muted" data-testid={`total-${c.key}`} title={c.hint}>
              {body}
            </div>
          );
        })}
      </div>
      {t && summary.data && (
        <p className="muted small" data-testid="summary-note">
          Also: {formatCount(t.healthUnknown)} without health reports. In sync and out of sync are shares of the {formatCount(sync?.managed ?? 0)} managed agents; the{' '}
          {formatCount(sync?.unmanaged ?? 0)} unmanaged ones (no assignment) are counted apart. Counted by the server in{' '}
          {Math.round(summary.data.ms)} ms (round trip).
        </p>
      )}
      <Card
        title="Breakdown by label"
        actions={
          <label className="inline-field">
            <span>Label</span>
            <select data-testid="breakdown-key" value={activeKey} onChange={(e) => setWanted(e.target.value)} disabled={keys.length === 0}>
              {keys.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
        }
      >
        {rows.length === 0 ? (
          <p className="muted">{t ? 'No labels reported yet.' : 'Loading…'}</p>
        ) : (
          <table className="table" data-testid="breakdown">
            <thead>
              <tr>
                <th>{activeKey}</th>
                <th className="num">Agents</th>
                <th className="num">Connected</th>
                <th className="num">Healthy</th>
                <th className="num">Unhealthy</th>
                <th className="num">In sync</th>
                <th className="num">Out of sync</th>
                <th className="num">Unmanaged</th>
                <th className="num">Config FAILED</th>
                <th style={{ width: '22%' }} />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const selector = selectorForLabel(activeKey, r);
                const rowSync = syncView(r.totals);
                const link = (f: Partial<AgentFilter>, n: number) => (n > 0 ? <Link to={agentsLink({ selector, ...f })}>{formatCount(n)}</Link> : <span className="muted">0</span>);
                return (
                  <tr key={`${r.hasLabel}:${r.labelValue}`}>
                    <td>
                      <Link to={agentsLink({ selector })}>{r.value}</Link>
                    </td>
                    <td className="num">{link({}, r.totals.agents)}</td>
                    <td className="num">{link({ connected: true }, r.totals.connected)}</td>
                    <td className="num">{link({ healthy: true }, r.totals.healthy)}</td>
                    <td className="num">{link({ healthy: false }, r.totals.unhealthy)}</td>
                    <td className="num">{link({ inSync: true }, r.totals.inSync)}</td>
                    <td className="num">{link({ inSync: false }, rowSync.outOfSync)}</td>
                    <td className="num">{rowSync.unmanaged > 0 ? formatCount(rowSync.unmanaged) : <span className="muted">0</span>}</td>
                    <td className="num">{link({ statuses: ['REMOTE_CONFIG_STATUS_FAILED'] }, r.totals.configFailed)}</td>
                    <td>
                      <div className="bar" title={`${r.totals.inSync} in sync of ${rowSync.managed} managed`}>
                        <div className="bar-ok" style={{ width: `${(100 * r.totals.inSync) / Math.max(1, rowSync.managed)}%` }} />
                        <div className="bar-bad" style={{ width: `${(100 * r.totals.configFailed) / Math.max(1, rowSync.managed)}%` }} />
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
      <FleetOwnMetrics />
    </div>
  );
}
