/**
 * Fleet totals and a breakdown by any label, live. The API has no summary
 * call yet, so the console reads every agent in pages of 1,000 and counts;
 * the next scan starts 5 s after the previous one finished (or twice the scan
 * time, for large fleets).
 */
import { useEffect, useMemo, useState } from 'react';
import { useApi } from '../api/context';
import { useNow } from '../hooks';
import { filterToSearch, type AgentFilter } from '../lib/agent-query';
import { FleetSummary, selectorForLabel, type FleetTotals } from '../lib/fleet-summary';
import { formatCount } from '../lib/format';
import type { ListAgentsResponse } from '../lib/types';
import { Link } from '../router';
import { Card, ErrorBox, LiveIndicator, PageHeader } from '../components/ui';

/** Scans stop here (and say so): beyond it the overview needs a summary RPC. */
const MAX_SCAN = 200_000;

interface Scan {
  summary: FleetSummary;
  ms: number;
  truncated: boolean;
  at: number;
}

const CARDS: { key: keyof FleetTotals; label: string; tone?: string; filter: Partial<AgentFilter>; hint?: string }[] = [
  { key: 'agents', label: 'Agents', filter: {} },
  { key: 'connected', label: 'Connected', tone: 'ok', filter: { connected: true } },
  { key: 'healthy', label: 'Healthy', tone: 'ok', filter: { healthy: true } },
  { key: 'unhealthy', label: 'Unhealthy', tone: 'bad', filter: { healthy: false } },
  { key: 'inSync', label: 'In sync', tone: 'ok', filter: { inSync: true } },
  { key: 'outOfSync', label: 'Out of sync', tone: 'warn', filter: { inSync: false }, hint: 'not running what they should, or with no assignment' },
  { key: 'configFailed', label: 'Config FAILED', tone: 'bad', filter: { statuses: ['REMOTE_CONFIG_STATUS_FAILED'] } },
];

function agentsLink(filter: Partial<AgentFilter>): string {
  return `/agents${filterToSearch({ selector: '', statuses: [], ...filter })}`;
}

export function Overview() {
  const api = useApi();
  const now = useNow();
  const [scan, setScan] = useState<Scan | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [key, setKey] = useState<string>('');

  useEffect(() => {
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (document.hidden) {
        timer = setTimeout(run, 1000);
        return;
      }
      const started = performance.now();
      let wait = 5000;
      try {
        const summary = new FleetSummary();
        let token = '';
        let truncated = false;
        do {
          const page = await api.get<ListAgentsResponse>('/agents', { pageSize: 1000, pageToken: token }, ctrl.signal);
          for (const a of page.agents) summary.add(a);
          token = page.nextPageToken;
          if (token && summary.totals.agents >= MAX_SCAN) truncated = true;
        } while (token && !truncated);
        const ms = performance.now() - started;
        setScan({ summary, ms, truncated, at: Date.now() });
        setError(null);
        wait = Math.max(5000, 2 * ms);
      } catch (err) {
        if (ctrl.signal.aborted) return;
        setError(err);
      }
      if (!ctrl.signal.aborted) timer = setTimeout(run, wait);
    };
    void run();
    return () => {
      ctrl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [api]);

  const keys = useMemo(() => scan?.summary.keys() ?? [], [scan]);
  const activeKey = key && keys.includes(key) ? key : (keys.find((k) => k === 'env') ?? keys[0] ?? '');
  const rows = scan && activeKey ? scan.summary.breakdown(activeKey) : [];
  const t = scan?.summary.totals;

  return (
    <div>
      <PageHeader title="Fleet overview" subtitle={<LiveIndicator updatedAt={scan?.at ?? null} now={now} error={error} />} />
      <ErrorBox error={error} title="Could not load agents" />
      <div className="stats" data-testid="totals">
        {CARDS.map((c) => (
          <Link key={c.key} to={agentsLink(c.filter)} className={`stat ${c.tone ? `stat-${c.tone}` : ''}`} data-testid={`total-${c.key}`} title={c.hint}>
            <div className="stat-value">{t ? formatCount(t[c.key]) : '…'}</div>
            <div className="stat-label">{c.label}</div>
            {t && t.agents > 0 && c.key !== 'agents' && <div className="stat-share">{Math.round((100 * t[c.key]) / t.agents)}%</div>}
          </Link>
        ))}
      </div>
      {t && scan && (
        <p className="muted small">
          Also: {formatCount(t.disconnected)} disconnected, {formatCount(t.healthUnknown)} without health reports, {formatCount(t.unassigned)} with no assignment (counted as out of sync),{' '}
          {formatCount(t.configApplying)} applying a configuration. Counted from {formatCount(t.agents)} agents in {Math.round(scan.ms)} ms.
          {scan.truncated && <strong> Only the first {formatCount(MAX_SCAN)} agents are counted.</strong>}
        </p>
      )}
      <Card
        title="Breakdown by label"
        actions={
          <label className="inline-field">
            <span>Label</span>
            <select data-testid="breakdown-key" value={activeKey} onChange={(e) => setKey(e.target.value)} disabled={keys.length === 0}>
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
                <th className="num">Config FAILED</th>
                <th style={{ width: '22%' }} />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const selector = selectorForLabel(activeKey, r.value);
                const link = (f: Partial<AgentFilter>, n: number) => (n > 0 ? <Link to={agentsLink({ selector, ...f })}>{formatCount(n)}</Link> : <span className="muted">0</span>);
                return (
                  <tr key={r.value}>
                    <td>
                      <Link to={agentsLink({ selector })}>{r.value}</Link>
                    </td>
                    <td className="num">{link({}, r.totals.agents)}</td>
                    <td className="num">{link({ connected: true }, r.totals.connected)}</td>
                    <td className="num">{link({ healthy: true }, r.totals.healthy)}</td>
                    <td className="num">{link({ healthy: false }, r.totals.unhealthy)}</td>
                    <td className="num">{link({ inSync: true }, r.totals.inSync)}</td>
                    <td className="num">{link({ inSync: false }, r.totals.outOfSync)}</td>
                    <td className="num">{link({ statuses: ['REMOTE_CONFIG_STATUS_FAILED'] }, r.totals.configFailed)}</td>
                    <td>
                      <div className="bar" title={`${r.totals.inSync} in sync of ${r.totals.agents}`}>
                        <div className="bar-ok" style={{ width: `${(100 * r.totals.inSync) / Math.max(1, r.totals.agents)}%` }} />
                        <div className="bar-bad" style={{ width: `${(100 * r.totals.configFailed) / Math.max(1, r.totals.agents)}%` }} />
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
