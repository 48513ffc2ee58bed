/**
 * The agents that have not followed a credential rotation yet
 * (ListPendingCredentialSwitches): their old credential is accepted until its
 * deadline and expires after it. Soonest deadline first, with where the
 * offer of the new one stands (FAILED with the agent's message).
 */
import { useApi } from '../api/context';
import { useNow, usePoll } from '../hooks';
import { deadlineText, type ListAgentCredentialsResponse } from '../lib/agent-credential';
import { formatCount, relativeTime, shortHex } from '../lib/format';
import { Link, useLocation } from '../router';
import { AgentTabs } from '../components/AgentTabs';
import { Badge } from '../components/badges';
import { Card, ErrorBox, LiveIndicator, PageHeader } from '../components/ui';

/** The most the API lists in one answer; the agents table (credential=rotating) pages through all of them. */
const PAGE_SIZE = 1000;

export function PendingSwitches() {
  const api = useApi();
  const now = useNow();
  const { path } = useLocation();
  const list = usePoll((signal) => api.get<ListAgentCredentialsResponse>('/agent-credentials:pending-switches', { pageSize: PAGE_SIZE }, signal), 5000, []);
  const pending = list.data?.credentials ?? [];

  return (
    <div>
      <PageHeader title="Agents" subtitle={<LiveIndicator updatedAt={list.updatedAt} now={now} error={list.error} />} actions={<AgentTabs path={path} />} />
      <Card title="Pending credential switches">
        <p className="muted">
          Agents offered a new credential by a rotation that they have not switched to yet. Their old credential stays accepted until the deadline, then expires and is
          refused. <Link to="/agents?credential=rotating">All rotating agents in the table</Link>.
        </p>
        <ErrorBox error={list.error} title="Could not list pending switches" />
        <table className="table table-hover" data-testid="pending-switches">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Old credential</th>
              <th>In use since</th>
              <th>Accepted until</th>
              <th>Deadline</th>
              <th>New credential</th>
            </tr>
          </thead>
          <tbody>
            {pending.map((c) => {
              const deadline = deadlineText(c.retireTime, now, relativeTime);
              return (
                <tr key={c.id} data-testid="pending-switch-row" data-uid={c.instanceUid}>
                  <td className="mono">
                    <Link to={`/agents/${c.instanceUid}`}>{c.instanceUid}</Link>
                  </td>
                  <td className="mono" title={c.id}>
                    {shortHex(c.id)}
                  </td>
                  <td title={c.activateTime}>{relativeTime(c.activateTime, now)}</td>
                  <td title={c.retireTime}>{c.retireTime ? new Date(c.retireTime).toLocaleString() : '—'}</td>
                  <td>{deadline.overdue ? <Badge tone="bad">{deadline.text}</Badge> : deadline.text}</td>
                  <td data-testid="pending-switch-offer">
                    {c.offerState === 'FAILED' ? (
                      <span title={c.offerError}>
                        <Badge tone="bad">failed{c.offerFailures && c.offerFailures > 1 ? ` ×${c.offerFailures}` : ''}</Badge> {c.offerError}
                      </span>
                    ) : c.offerState === 'SENT' ? (
                      'offered'
                    ) : c.offerState === 'PENDING' ? (
                      'not offered yet'
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              );
            })}
            {pending.length === 0 && !list.loading && (
              <tr>
                <td colSpan={6} className="empty">
                  Every agent has switched to its newest credential.
                </td>
              </tr>
            )}
          </tbody>
        </table>
        {pending.length >= PAGE_SIZE && <p className="muted">The first {formatCount(PAGE_SIZE)} by deadline; the agents table lists every rotating agent.</p>}
      </Card>
    </div>
  );
}
