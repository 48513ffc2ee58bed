/**
 * Coalescing of push pieces: within one batch, everything for one agent
 * connection becomes one ServerToAgent (WS) or one pending item per kind
 * (HTTP). Flags are OR-ed, the latest agent_identification wins. Never a
 * `command` (the gateway and config-service own those).
 */
import type { IServerToAgent } from '@opamp/protocol';
import type { PushKind, PushPiece, PushTarget } from './agent-state';

export interface CoalescedPush {
  tenantId: string;
  instanceUid: Buffer;
  instanceUidAsSent: Buffer;
  target: PushTarget;
  /** Per kind, the ServerToAgent to deliver (instance_uid set to the uid as sent). */
  byKind: Map<PushKind, IServerToAgent>;
}

export function coalescePushes(pieces: readonly PushPiece[]): CoalescedPush[] {
  const out = new Map<string, CoalescedPush>();
  for (const p of pieces) {
    const key = `${p.tenantId}\u0000${p.target.gatewayId}\u0000${p.target.connectionId}\u0000${p.target.epoch}\u0000${p.instanceUidAsSent.toString('hex')}`;
    let push = out.get(key);
    if (!push) {
      push = {
        tenantId: p.tenantId,
        instanceUid: p.instanceUid,
        instanceUidAsSent: p.instanceUidAsSent,
        target: p.target,
        byKind: new Map(),
      };
      out.set(key, push);
    }
    const previous = push.byKind.get(p.kind);
    if (p.kind === 'flags') {
      const flags = Number(previous?.flags ?? 0) | Number(p.message.flags ?? 0);
      push.byKind.set('flags', { instanceUid: p.instanceUidAsSent, flags });
    } else {
      push.byKind.set(p.kind, { ...p.message, instanceUid: p.instanceUidAsSent });
    }
  }
  return [...out.values()];
}

/** All kinds merged into one ServerToAgent (for a WS connection). */
export function mergeKinds(push: CoalescedPush): IServerToAgent {
  const merged: IServerToAgent = { instanceUid: push.instanceUidAsSent };
  for (const msg of push.byKind.values()) {
    if (msg.flags) merged.flags = Number(merged.flags ?? 0) | Number(msg.flags);
    if (msg.agentIdentification) merged.agentIdentification = msg.agentIdentification;
  }
  return merged;
}
