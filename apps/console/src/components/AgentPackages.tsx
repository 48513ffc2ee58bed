/**
 * An agent's packages: what it reports (per package: version and hash,
 * DOWNLOADING progress, INSTALL_FAILED with its message) and what the server
 * decided for it (GetAgentPackages: the assignment, the state and the hashes).
 */
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { agentPackagesView, downloadProgressText, packageStatusView, shortHash } from '../lib/packages';
import type { AgentDetail, AgentPackages as AgentPackagesData, PackageStatus } from '../lib/types';
import { Link } from '../router';
import { Badge } from './badges';
import { Card, ErrorBox, KeyValues } from './ui';

function versionCell(version: string, hash: string) {
  if (!version && !hash) return '—';
  return (
    <>
      {version || <span className="muted">no version</span>} {hash && <span className="mono muted small">{shortHash(hash, 8)}</span>}
    </>
  );
}

function Decision({ uid, accepts }: { uid: string; accepts: boolean }) {
  const api = useApi();
  const d = usePoll((s) => api.get<AgentPackagesData>(`/agents/${encodeURIComponent(uid)}/packages`, undefined, s), 3000, [uid]);
  if (!d.data) return <ErrorBox error={d.error} />;
  const v = agentPackagesView(d.data.state);
  const same = d.data.desiredHash !== '' && d.data.desiredHash === d.data.reportedHash;
  return (
    <div data-testid="agent-packages-decision">
      <KeyValues
        rows={[
          [
            'Assignment',
            d.data.assignmentName ? (
              <Link key="a" to="/package-assignments">
                {d.data.assignmentName}
              </Link>
            ) : (
              <span className="muted">none</span>
            ),
          ],
          [
            'State',
            <span key="s">
              <Badge tone={v.tone}>
                <span data-testid="agent-packages-state">{v.label}</span>
              </Badge>{' '}
              <span className="small muted">
                {v.text}
                {d.data.packageName && ` (${d.data.packageName})`}
                {!accepts && d.data.state !== 'no_accepts_packages' ? ' The agent does not accept packages.' : ''}
              </span>
            </span>,
          ],
          ['Desired hash', <span key="d" className="mono small">{shortHash(d.data.desiredHash)}</span>],
          [
            'Reported hash',
            <span key="r" className={`mono small ${d.data.reportedHash && !same ? 'text-bad' : ''}`}>
              {shortHash(d.data.reportedHash)} {d.data.desiredHash && (same ? <Badge tone="ok">matches</Badge> : <Badge tone="warn">differs</Badge>)}
            </span>,
          ],
          ['Last offered', <span key="o" className="mono small">{shortHash(d.data.offeredHash)}</span>],
        ]}
      />
    </div>
  );
}

export function AgentPackages({ agent, reports, accepts }: { agent: AgentDetail; reports: boolean; accepts: boolean }) {
  const packages: PackageStatus[] = agent.packageStatuses ?? [];
  return (
    <Card title="Packages">
      <Decision uid={agent.instanceUid} accepts={accepts} />
      <h3>Reported by the agent</h3>
      <div data-testid="packages">
        {agent.packageStatusesError && <div className="error-box">{agent.packageStatusesError}</div>}
        {packages.length === 0 ? (
          <p className="muted">
            {reports ? 'No package statuses reported.' : 'The agent does not report package statuses (no ReportsPackageStatuses).'}{' '}
            {reports ? <Badge tone="info">agent reports them</Badge> : <Badge tone="muted">agent does not report them</Badge>}
          </p>
        ) : (
          <table className="table table-compact">
            <thead>
              <tr>
                <th>Package</th>
                <th>Agent has</th>
                <th>Server offered</th>
                <th>Status</th>
                <th>Progress / error</th>
              </tr>
            </thead>
            <tbody>
              {packages.map((p) => {
                const s = packageStatusView(p.status);
                return (
                  <tr key={p.name} data-testid="package-row">
                    <td className="mono">{p.name}</td>
                    <td data-testid="package-has">{versionCell(p.agentHasVersion, p.agentHasHash)}</td>
                    <td>{versionCell(p.serverOfferedVersion, p.serverOfferedHash)}</td>
                    <td>
                      <Badge tone={s.tone}>
                        <span data-testid="package-status">{s.label}</span>
                      </Badge>
                    </td>
                    <td className={p.status === 'PACKAGE_STATE_INSTALL_FAILED' ? 'text-bad' : 'small'}>{p.status === 'PACKAGE_STATE_DOWNLOADING' ? downloadProgressText(p.downloadDetails) : p.errorMessage}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
    </Card>
  );
}
