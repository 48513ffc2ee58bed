/**
 * Desired against effective configuration, file pair by file pair (lib/config-diff):
 * what the operator sent that the agent does not run first; what the agent
 * added (defaults) folded away; a line diff only where a side is not YAML.
 */
import { useMemo } from 'react';
import { compareConfigFile, formatPath, formatValue, pairConfigFiles, type FileComparison } from '../lib/config-diff';
import type { ConfigFiles } from '../lib/types';
import { DiffView, FilesView } from './DiffView';

const fileName = (n: string) => (n === '' ? '(unnamed file)' : n);

function Differences({ c }: { c: Extract<FileComparison, { mode: 'semantic' }> }) {
  return (
    <>
      {c.differences.length === 0 ? (
        <p className="notice notice-ok" data-testid="config-runs-desired">
          The agent runs everything the operator set in this file.
        </p>
      ) : (
        <table className="table table-compact" data-testid="config-differences">
          <thead>
            <tr>
              <th>Set by the operator</th>
              <th>Sent</th>
              <th>The agent runs</th>
            </tr>
          </thead>
          <tbody>
            {c.differences.map((d) => (
              <tr key={formatPath(d.path)} data-testid="config-difference" data-kind={d.kind}>
                <td className="mono">{formatPath(d.path)}</td>
                <td className="mono">{formatValue(d.desired)}</td>
                <td className="mono">{d.kind === 'missing' ? <span className="text-bad">missing</span> : <span className="text-bad">{formatValue(d.effective)}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {c.addedByAgent.length > 0 && (
        <details className="pending-diff" data-testid="config-added-by-agent">
          <summary>
            {c.addedByAgent.length} key{c.addedByAgent.length > 1 ? 's' : ''} added by the agent (its defaults)
          </summary>
          <table className="table table-compact">
            <tbody>
              {c.addedByAgent.map((a) => (
                <tr key={formatPath(a.path)}>
                  <td className="mono">{formatPath(a.path)}</td>
                  <td className="mono muted">{formatValue(a.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </>
  );
}

export function ConfigCompareView({ desired, effective, desiredLabel, effectiveLabel }: { desired: ConfigFiles; effective: ConfigFiles; desiredLabel: string; effectiveLabel: string }) {
  const pairs = useMemo(
    () =>
      pairConfigFiles(desired, effective).map((p) => ({
        ...p,
        comparison: p.desiredName !== undefined && p.effectiveName !== undefined ? compareConfigFile(desired[p.desiredName].body, effective[p.effectiveName].body) : undefined,
      })),
    [desired, effective],
  );
  return (
    <div className="diff" data-testid="config-compare">
      <p className="muted small">
        Compared as YAML values, not text: {desiredLabel} against {effectiveLabel}. Order, quoting, comments and the defaults the agent fills in are not differences.
      </p>
      {pairs.map((p) => (
        <div key={`${p.desiredName ?? ''}\u0000${p.effectiveName ?? ''}`} className="diff-file" data-testid="config-pair">
          <div className="diff-file-name">
            {p.desiredName !== undefined ? <code>{fileName(p.desiredName)}</code> : <span className="muted">not sent</span>} ↔{' '}
            {p.effectiveName !== undefined ? <code>{fileName(p.effectiveName)}</code> : <span className="muted">not run</span>}
          </div>
          <div className="config-pair-body">
            {p.effectiveName === undefined && <p className="text-bad">The agent does not report this file: nothing of it runs.</p>}
            {p.desiredName === undefined && <p className="muted">A file the agent runs that the server did not send.</p>}
            {p.comparison?.mode === 'semantic' && <Differences c={p.comparison} />}
            {p.comparison?.mode === 'text' && (
              <>
                <p className="notice" data-testid="config-text-fallback">
                  Compared as text: {p.comparison.reason}.
                </p>
                <DiffView
                  before={{ [fileName(p.effectiveName ?? '')]: effective[p.effectiveName ?? ''] }}
                  after={{ [fileName(p.effectiveName ?? '')]: desired[p.desiredName ?? ''] }}
                  beforeLabel={effectiveLabel}
                  afterLabel={desiredLabel}
                />
              </>
            )}
          </div>
        </div>
      ))}
      <details className="pending-diff">
        <summary>Both sides as written</summary>
        <h3>{effectiveLabel}</h3>
        <FilesView files={effective} />
        <h3>{desiredLabel}</h3>
        <FilesView files={desired} />
      </details>
    </div>
  );
}
