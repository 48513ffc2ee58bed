/** The agents page's tabs: the table, and the agents that have not followed a credential rotation yet. */
import { navigate } from '../router';

const TABS: [string, string, string][] = [
  ['/agents', 'All agents', 'tab-agents'],
  ['/agents/pending-switches', 'Pending credential switches', 'tab-pending-switches'],
];

export function AgentTabs({ path }: { path: string }) {
  return (
    <div className="segmented" role="tablist" aria-label="Agents views">
      {TABS.map(([to, label, testId]) => (
        <button type="button" role="tab" key={to} aria-selected={path === to} className={path === to ? 'active' : ''} data-testid={testId} onClick={() => navigate(to)}>
          {label}
        </button>
      ))}
    </div>
  );
}
