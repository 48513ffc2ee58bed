import type { Agent } from '../lib/types';
import { credentialKindText, credentialView } from '../lib/agent-credential';
import { shortStatus } from '../lib/agent-query';
import { healthView } from '../lib/health-view';

export type Tone = 'ok' | 'bad' | 'warn' | 'muted' | 'info';

export function Badge({ tone, children, title }: { tone: Tone; children: React.ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function ConnectionBadge({ agent }: { agent: Pick<Agent, 'connected' | 'transport'> }) {
  return agent.connected ? (
    <Badge tone="ok">
      <span className="dot dot-ok" /> {agent.transport === 'http' ? 'HTTP' : agent.transport === 'websocket' ? 'WebSocket' : 'connected'}
    </Badge>
  ) : (
    <Badge tone="muted">
      <span className="dot dot-muted" /> disconnected
    </Badge>
  );
}

/** A disconnected agent's health is unknown; what it last reported shows as "last known". */
export function HealthBadge({ health, lastKnown }: { health: Agent['health']; lastKnown?: Agent['health'] }) {
  const v = healthView(health, lastKnown);
  return <Badge tone={v.tone}>{v.text}</Badge>;
}

export function ConfigStatusBadge({ status, error }: { status: Agent['remoteConfigStatus']; error?: string }) {
  const s = shortStatus(status);
  const tone: Tone = s === 'applied' ? 'ok' : s === 'failed' ? 'bad' : s === 'applying' ? 'warn' : 'muted';
  return (
    <Badge tone={tone} title={error || undefined}>
      {s === 'unset' ? 'not reported' : s}
    </Badge>
  );
}

export function SyncBadge({ agent }: { agent: Pick<Agent, 'inSync' | 'configurationName' | 'notSentReason'> }) {
  if (agent.inSync) return <Badge tone="ok">in sync</Badge>;
  if (!agent.configurationName) return <Badge tone="muted">no assignment</Badge>;
  if (agent.notSentReason) return <Badge tone="bad" title={agent.notSentReason}>not sent</Badge>;
  return <Badge tone="warn">out of sync</Badge>;
}

/** The agent's own credential state; the title says what its last connection was admitted with. `labelled`: say "credential" (beside other badges). */
export function CredentialBadge({ agent, labelled = false }: { agent: Pick<Agent, 'credential'>; labelled?: boolean }) {
  const v = credentialView(agent.credential);
  const kind = agent.credential ? ` Last admitted with: ${credentialKindText(agent.credential.kind)}.` : '';
  return (
    <Badge tone={v.tone} title={`${v.title}.${kind}`}>
      {labelled ? `credential: ${v.text}` : v.text}
    </Badge>
  );
}
