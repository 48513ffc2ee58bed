/** The component health tree: nested, collapsible, problems open by default. */
import { useState } from 'react';
import { relativeTime } from '../lib/format';
import { healthCounts, sortedChildren, startsOpen } from '../lib/health-tree';
import type { ComponentHealth } from '../lib/types';

function HealthNode({ name, node, depth, now }: { name: string; node: ComponentHealth; depth: number; now: number }) {
  const children = sortedChildren(node);
  const [open, setOpen] = useState(() => startsOpen(node, depth));
  const attrs = Object.entries(node.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <li className="health-node" data-testid="health-node" data-name={name} data-healthy={String(node.healthy)}>
      <div className="health-row">
        {children.length > 0 ? (
          <button type="button" className="health-toggle" aria-expanded={open} data-testid="health-toggle" onClick={() => setOpen((o) => !o)} title={open ? 'Collapse' : 'Expand'}>
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="health-toggle" />
        )}
        <span className={`dot ${node.healthy ? 'dot-ok' : 'dot-bad'}`} title={node.healthy ? 'healthy' : 'unhealthy'} />
        <span className="mono health-name">{name}</span>
        {node.status && <span className="chip">{node.status}</span>}
        {node.lastError && (
          <span className="text-bad" data-testid="health-error">
            {node.lastError}
          </span>
        )}
        {node.statusTime && (
          <span className="muted small" title={`status since ${node.statusTime}${node.startTime ? `; started ${node.startTime}` : ''}`}>
            {relativeTime(node.statusTime, now)}
          </span>
        )}
        {!open && children.length > 0 && <span className="muted small">({children.length} sub-components)</span>}
      </div>
      {attrs.length > 0 && (
        <div className="health-attrs small mono">
          {attrs.map(([k, v]) => (
            <span key={k}>
              {k}={v}
            </span>
          ))}
        </div>
      )}
      {open && children.length > 0 && (
        <ul className="health-children">
          {children.map(([n, c]) => (
            <HealthNode key={n} name={n} node={c} depth={depth + 1} now={now} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function HealthTree({ root, now }: { root: ComponentHealth; now: number }) {
  const counts = healthCounts(root);
  return (
    <div data-testid="health-tree">
      <p className="muted small">
        {counts.components} component{counts.components > 1 ? 's' : ''}, {counts.unhealthy} unhealthy
      </p>
      <ul className="health-tree">
        <HealthNode name="agent" node={root} depth={0} now={now} />
      </ul>
    </div>
  );
}
