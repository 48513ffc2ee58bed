/**
 * Where the agents of one package assignment stand (GetPackageAssignmentStatus),
 * polled while shown: on the assignments page (closable) and on a package
 * rollout's page (its assignment's group, for as long as the page is open).
 */
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { formatCount } from '../lib/format';
import { formatBytes } from '../lib/packages';
import type { PackageAssignmentStatus as Status } from '../lib/types';
import { Card, ErrorBox } from './ui';

const ROWS: Array<[keyof Status, string, string]> = [
  ['installed', 'Installed at the desired version', 'text-good'],
  ['otherVersion', 'At another version', ''],
  ['downloading', 'Downloading', ''],
  ['installing', 'Installing', ''],
  ['installFailed', 'Install failed (no retry left)', 'text-bad'],
  ['retryPending', 'Failed, retry pending', 'text-bad'],
  ['noFileForPlatform', 'No file for their platform', 'text-bad'],
  ['notCapable', 'Not capable (no AcceptsPackages)', 'muted'],
  ['other', 'Not reported yet / other', 'muted'],
];

export function PackageAssignmentStatusCard({ name, onClose }: { name: string; onClose?: () => void }) {
  const api = useApi();
  const status = usePoll((s) => api.get<Status>(`/package-assignments/${encodeURIComponent(name)}/status`, undefined, s), 3000, [name]);
  const d = status.data;
  return (
    <Card
      title={`Agents of ${name}`}
      actions={
        onClose && (
          <button className="btn" onClick={onClose}>
            Close
          </button>
        )
      }
    >
      <ErrorBox error={status.error} />
      {d && (
        <table className="table" data-testid="package-assignment-status">
          <tbody>
            <tr>
              <td>Agents</td>
              <td className="num" data-testid="pas-agents">
                {formatCount(d.agents)}
              </td>
            </tr>
            {ROWS.map(([key, label, cls]) => (
              <tr key={key}>
                <td className={cls}>{label}</td>
                <td className="num" data-testid={`pas-${key}`}>
                  {formatCount(Number(d[key]))}
                  {key === 'downloading' && d.downloading > 0 && (
                    <span className="muted small">
                      {' '}
                      · {d.downloadPercent} % · {formatBytes(d.downloadBytesPerSecond)}/s
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
