import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { relativeTime, shortHex } from '../lib/format';
import type { ListAssignmentsResponse, ListConfigurationsResponse } from '../lib/types';
import { Link, navigate } from '../router';
import { Badge } from '../components/badges';
import { Card, ErrorBox, PageHeader } from '../components/ui';

export function formatName(f: string): string {
  return f === 'CONFIG_FORMAT_GENERIC' ? 'generic' : 'OTel Collector';
}

export function Configurations() {
  const api = useApi();
  const configs = usePoll((s) => api.get<ListConfigurationsResponse>('/configurations', undefined, s), 15000, []);
  const assignments = usePoll((s) => api.get<ListAssignmentsResponse>('/assignments', undefined, s), 15000, []);
  const list = configs.data?.configurations ?? [];
  const byConfig = new Map<string, number>();
  for (const a of assignments.data?.assignments ?? []) byConfig.set(a.configurationName, (byConfig.get(a.configurationName) ?? 0) + 1);

  return (
    <div>
      <PageHeader
        title="Configurations"
        subtitle="Immutable, versioned configurations and the assignments that select agents for them."
        actions={
          <Link to="/configurations/new" className="btn btn-primary" data-testid="new-configuration">
            New configuration
          </Link>
        }
      />
      <ErrorBox error={configs.error} />
      <Card title="Configurations">
        <table className="table table-hover" data-testid="configurations-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Latest</th>
              <th>Format</th>
              <th>Files</th>
              <th>Content hash</th>
              <th>Assignments</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.name} className="clickable" onClick={() => navigate(`/configurations/${encodeURIComponent(c.name)}`)}>
                <td>
                  <Link to={`/configurations/${encodeURIComponent(c.name)}`} onClick={(e) => e.stopPropagation()}>
                    {c.name}
                  </Link>
                  {c.description && <div className="muted small">{c.description}</div>}
                </td>
                <td>v{c.version}</td>
                <td>
                  {formatName(c.format)} {c.templated && <Badge tone="info">template</Badge>}
                </td>
                <td className="mono small">{Object.keys(c.files).sort().join(', ')}</td>
                <td className="mono">{shortHex(c.contentHash, 12)}</td>
                <td>{byConfig.get(c.name) ?? 0}</td>
                <td title={c.updateTime}>{relativeTime(c.updateTime)}</td>
              </tr>
            ))}
            {list.length === 0 && !configs.loading && (
              <tr>
                <td colSpan={7} className="empty">
                  No configurations yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
      <Card title="Assignments">
        <ErrorBox error={assignments.error} />
        <table className="table" data-testid="assignments-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Configuration</th>
              <th>Version</th>
              <th>Selector</th>
              <th className="num">Priority</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {(assignments.data?.assignments ?? []).map((a) => (
              <tr key={a.name}>
                <td>{a.name}</td>
                <td>
                  <Link to={`/configurations/${encodeURIComponent(a.configurationName)}?tab=assignments`}>{a.configurationName}</Link>
                </td>
                <td>{a.pinnedVersion ? `pinned v${a.pinnedVersion}` : 'latest'}</td>
                <td>
                  <Link to={`/agents?selector=${encodeURIComponent(a.selector)}`} className="mono">
                    {a.selector || '(all agents)'}
                  </Link>
                </td>
                <td className="num">{a.priority}</td>
                <td title={a.updateTime}>{relativeTime(a.updateTime)}</td>
              </tr>
            ))}
            {(assignments.data?.assignments ?? []).length === 0 && !assignments.loading && (
              <tr>
                <td colSpan={6} className="empty">
                  No assignments: no agent gets a configuration yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
