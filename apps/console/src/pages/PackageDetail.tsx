/** One package: its versions (newest first) with a file per platform, withdrawing a version, registering a new one. */
import { useState } from 'react';
import { useApi } from '../api/context';
import { errorMessage } from '../api/client';
import { usePoll } from '../hooks';
import { fileSourceText, formatBytes, packageKindName, shortHash, sortVersionsNewestFirst } from '../lib/packages';
import { relativeTime } from '../lib/format';
import type { Package, PackageVersion } from '../lib/types';
import { Link } from '../router';
import { Badge } from '../components/badges';
import { PackageVersionForm } from '../components/PackageVersionForm';
import { Card, ErrorBox, KeyValues, PageHeader } from '../components/ui';

function Files({ v }: { v: PackageVersion }) {
  return (
    <table className="table table-compact" data-testid="version-files">
      <tbody>
        {v.files.map((f) => (
          <tr key={`${f.os}/${f.arch}`}>
            <td className="mono">
              {f.os}/{f.arch}
            </td>
            <td className="mono small" title={f.sha256}>
              {shortHash(f.sha256)}
            </td>
            <td className="num small">{Number(f.sizeBytes ?? 0) > 0 ? formatBytes(f.sizeBytes) : '—'}</td>
            <td className="small">{fileSourceText(f)}</td>
            <td className="small">{f.signature ? <Badge tone="ok">signed</Badge> : <span className="muted">no signature</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PackageDetail({ name }: { name: string }) {
  const api = useApi();
  const pkg = usePoll((s) => api.get<Package>(`/packages/${encodeURIComponent(name)}`, undefined, s), 5000, [name]);
  const [showForm, setShowForm] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const p = pkg.data;

  const withdraw = async (v: PackageVersion) => {
    if (!window.confirm(`Withdraw ${v.packageName} ${v.version}? It is offered to no agent again (agents running it keep it).`)) return;
    setResult(null);
    try {
      await api.post(`/packages/${encodeURIComponent(v.packageName)}/versions/${encodeURIComponent(v.version)}:withdraw`, {});
      setResult({ ok: true, text: `${v.version} withdrawn.` });
      pkg.refresh();
    } catch (err) {
      setResult({ ok: false, text: `Withdraw failed: ${errorMessage(err)}` });
    }
  };

  if (!p) {
    return (
      <div>
        <PageHeader title={name} />
        {pkg.error ? <ErrorBox error={pkg.error} /> : <p className="muted">Loading…</p>}
      </div>
    );
  }
  const versions = sortVersionsNewestFirst(p.versions ?? []);
  return (
    <div>
      <PageHeader
        title={
          <>
            Package <span className="mono">{p.name}</span> <Badge tone="muted">{packageKindName(p.kind)}</Badge>
          </>
        }
        subtitle={<Link to="/packages">← the catalog</Link>}
        actions={
          <button className="btn btn-primary" data-testid="new-version" onClick={() => setShowForm((s) => !s)}>
            {showForm ? 'Close' : 'Register a version'}
          </button>
        }
      />
      {showForm && (
        <PackageVersionForm
          packageName={p.name}
          onRegistered={(v) => {
            setShowForm(false);
            setResult({ ok: true, text: `${v.version} registered.` });
            pkg.refresh();
          }}
        />
      )}
      <Card title="Package">
        <KeyValues
          rows={[
            ['Kind', packageKindName(p.kind)],
            ['Versions', `${p.versionCount ?? versions.length}${p.withdrawnCount ? ` (${p.withdrawnCount} withdrawn)` : ''}`],
            ['Created', `${relativeTime(p.createTime)} by ${p.createdBy}`],
          ]}
        />
      </Card>
      {result && (
        <div className={result.ok ? 'notice notice-ok' : 'error-box'} data-testid="package-result">
          {result.text}
        </div>
      )}
      <Card title="Versions">
        <table className="table" data-testid="versions-table">
          <thead>
            <tr>
              <th>Version</th>
              <th>Files per platform (os/arch, sha256, size, source, signature)</th>
              <th>Registered</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version} data-testid="version-row" className={v.withdrawn ? 'row-muted' : undefined}>
                <td className="mono">
                  {v.version} {v.withdrawn && <Badge tone="warn">withdrawn</Badge>}
                  {v.withdrawn && <div className="small muted">{`${relativeTime(v.withdrawTime)} by ${v.withdrawnBy}`}</div>}
                </td>
                <td>
                  <Files v={v} />
                </td>
                <td title={v.createTime} className="small">
                  {relativeTime(v.createTime)} by {v.createdBy}
                </td>
                <td>
                  <button className="btn btn-danger-outline" data-testid="withdraw-version" disabled={v.withdrawn} title={v.withdrawn ? 'Withdrawn already' : 'Offer it to no agent again'} onClick={() => void withdraw(v)}>
                    Withdraw
                  </button>
                </td>
              </tr>
            ))}
            {versions.length === 0 && (
              <tr>
                <td colSpan={4} className="empty">
                  No versions: register one.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
