/** The package catalog: packages with their kind, version count and newest version; a form to add one. */
import { useState, type FormEvent } from 'react';
import { useApi } from '../api/context';
import { usePoll } from '../hooks';
import { latestVersion, packageKindName } from '../lib/packages';
import { relativeTime } from '../lib/format';
import type { ListPackagesResponse, Package, PackageKind, PackageVersion } from '../lib/types';
import { Link, navigate } from '../router';
import { Badge } from '../components/badges';
import { PackageTabs } from '../components/PackageTabs';
import { Card, ErrorBox, PageHeader } from '../components/ui';

function NewPackage({ onCreated }: { onCreated: (p: Package) => void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<PackageKind>('PACKAGE_KIND_AGENT');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      onCreated(await api.post<Package>('/packages', { name: name.trim(), kind }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Card title="New package">
      <form onSubmit={submit}>
        <div className="form-grid">
          <label className="field">
            <span>Name</span>
            <input data-testid="package-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="otelcol" />
          </label>
          <label className="field">
            <span>Kind</span>
            <select data-testid="package-kind" value={kind} onChange={(e) => setKind(e.target.value as PackageKind)}>
              <option value="PACKAGE_KIND_AGENT">agent (the agent itself)</option>
              <option value="PACKAGE_KIND_TOP_LEVEL">top-level package</option>
              <option value="PACKAGE_KIND_ADDON">addon</option>
            </select>
          </label>
        </div>
        <ErrorBox error={error} title="Not created" />
        <div className="button-row">
          <button className="btn btn-primary" type="submit" data-testid="create-package">
            Create package
          </button>
        </div>
      </form>
    </Card>
  );
}

export function Packages() {
  const api = useApi();
  // ListPackages leaves versions out: each package's versions come from ListPackageVersions.
  const list = usePoll(
    async (s) => {
      const r = await api.get<ListPackagesResponse>('/packages', undefined, s);
      const versions = await Promise.all(
        r.packages.map((p) => api.get<{ packageVersions: PackageVersion[] }>(`/packages/${encodeURIComponent(p.name)}/versions`, undefined, s).then((v) => v.packageVersions ?? [])),
      );
      return r.packages.map((p, i) => ({ ...p, versions: versions[i] }));
    },
    5000,
    [],
  );
  const [showNew, setShowNew] = useState(false);
  const rows = list.data ?? [];
  return (
    <div>
      <PageHeader
        title="Packages"
        subtitle={<PackageTabs path="/packages" />}
        actions={
          <button className="btn btn-primary" data-testid="new-package" onClick={() => setShowNew((s) => !s)}>
            {showNew ? 'Close' : 'New package'}
          </button>
        }
      />
      {showNew && <NewPackage onCreated={(p) => navigate(`/packages/${encodeURIComponent(p.name)}`)} />}
      <Card title="Catalog">
        <ErrorBox error={list.error} />
        <table className="table table-hover" data-testid="packages-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th className="num">Versions</th>
              <th>Latest version</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.name} className="clickable" data-testid="package-row" onClick={() => navigate(`/packages/${encodeURIComponent(p.name)}`)}>
                <td>
                  <Link className="mono" to={`/packages/${encodeURIComponent(p.name)}`} onClick={(e) => e.stopPropagation()}>
                    {p.name}
                  </Link>
                </td>
                <td>
                  <Badge tone={p.kind === 'PACKAGE_KIND_AGENT' ? 'info' : 'muted'}>{packageKindName(p.kind)}</Badge>
                </td>
                <td className="num">
                  {p.versionCount ?? 0}
                  {(p.withdrawnCount ?? 0) > 0 && <span className="muted small"> ({p.withdrawnCount} withdrawn)</span>}
                </td>
                <td className="mono" data-testid="package-latest">
                  {latestVersion(p.versions) || '—'}
                </td>
                <td title={p.createTime}>
                  {relativeTime(p.createTime)} <span className="muted small">by {p.createdBy}</span>
                </td>
              </tr>
            ))}
            {rows.length === 0 && !list.loading && (
              <tr>
                <td colSpan={5} className="empty">
                  No packages yet: create one, then register its versions.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
