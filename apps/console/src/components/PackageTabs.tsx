/** The package pages' tabs: the catalog, the assignments (who runs what) and the package rollouts. */
import { navigate } from '../router';

const TABS: [string, string, string][] = [
  ['/packages', 'Catalog', 'tab-packages'],
  ['/package-assignments', 'Assignments', 'tab-package-assignments'],
  ['/package-rollouts', 'Rollouts', 'tab-package-rollouts'],
];

export function PackageTabs({ path }: { path: string }) {
  return (
    <div className="segmented" role="tablist" aria-label="Package views">
      {TABS.map(([to, label, testId]) => (
        <button type="button" role="tab" key={to} aria-selected={path === to} className={path === to ? 'active' : ''} data-testid={testId} onClick={() => navigate(to)}>
          {label}
        </button>
      ))}
    </div>
  );
}
