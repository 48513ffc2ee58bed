/**
 * The ServerToAgent messages the edge writes itself: the acknowledgement that
 * answers every AgentToServer at once, and the single reply a plain-HTTP
 * request gets, merged from whatever is pending for its agent.
 */
import { opamp, ServerCapabilities, ServerToAgent } from '@opamp/protocol';

/** Everything this server implements (no reserved bits; C48), but CSRs: those only where certificates are issued. */
export const SERVER_CAPABILITIES =
  ServerCapabilities.AcceptsStatus |
  ServerCapabilities.OffersRemoteConfig |
  ServerCapabilities.AcceptsEffectiveConfig |
  ServerCapabilities.OffersPackages |
  ServerCapabilities.AcceptsPackagesStatus |
  ServerCapabilities.OffersConnectionSettings;

/** What the server advertises: AcceptsConnectionSettingsRequest (0x40) only where client certificates are issued (issue 18). */
export function serverCapabilitiesOf(acceptsCertificateRequests: boolean | undefined): number {
  return acceptsCertificateRequests ? SERVER_CAPABILITIES | ServerCapabilities.AcceptsConnectionSettingsRequest : SERVER_CAPABILITIES;
}

/** The plain acknowledgement: only instance_uid, plus capabilities when asked (first reply, every HTTP reply). */
export function ackReply(instanceUid: Uint8Array, withCapabilities: boolean, capabilities: number = SERVER_CAPABILITIES): opamp.proto.v1.IServerToAgent {
  return withCapabilities ? { instanceUid, capabilities } : { instanceUid };
}

export interface PendingReplyItem {
  kind: string;
  message: opamp.proto.v1.IServerToAgent;
}

export interface ComposedReply {
  reply: opamp.proto.v1.IServerToAgent;
  /** Items this reply could not carry; they wait for the next request. */
  leftovers: PendingReplyItem[];
}

type MergeableField =
  | 'remoteConfig'
  | 'connectionSettings'
  | 'packagesAvailable'
  | 'agentIdentification'
  | 'customCapabilities'
  | 'customMessage';

const MERGEABLE: MergeableField[] = [
  'remoteConfig',
  'connectionSettings',
  'packagesAvailable',
  'agentIdentification',
  'customCapabilities',
  'customMessage',
];

/**
 * Merges pending items into one HTTP reply. A command travels alone (clients
 * ignore everything else in a message that carries one), so when one is
 * pending the reply is that command and the rest waits. Flags are OR-ed; two
 * items that set the same field cannot share a reply, so the later waits.
 */
export function composeHttpReply(instanceUid: Uint8Array, items: readonly PendingReplyItem[], capabilities: number = SERVER_CAPABILITIES): ComposedReply {
  const reply: opamp.proto.v1.IServerToAgent = ackReply(instanceUid, true, capabilities);
  const leftovers: PendingReplyItem[] = [];
  const command = items.find((i) => i.message.command);
  if (command) {
    reply.command = command.message.command;
    for (const item of items) if (item !== command) leftovers.push(item);
    return { reply, leftovers };
  }
  let flags = 0;
  for (const item of items) {
    const msg = item.message;
    const fields = MERGEABLE.filter((f) => msg[f] != null);
    if (fields.some((f) => reply[f] != null)) {
      leftovers.push(item);
      continue;
    }
    for (const f of fields) (reply as Record<MergeableField, unknown>)[f] = msg[f];
    flags |= Number(msg.flags ?? 0);
  }
  if (flags !== 0) reply.flags = flags;
  return { reply, leftovers };
}

/** Decodes a pending item's bytes; undecodable items are dropped by the caller. */
export function decodePendingItem(kind: string, bytes: Uint8Array): PendingReplyItem {
  return { kind, message: ServerToAgent.decode(bytes) };
}

/** The pending-store kind of a worker's direct push, as the pushing side names it (agent-push.router); null: not kept. */
function kindOf(message: opamp.proto.v1.IServerToAgent): string | null {
  if (message.remoteConfig) return 'remote_config';
  if (message.command) return 'command';
  if (message.customMessage) return 'custom_message';
  return null;
}

/**
 * What a plain-HTTP reply delivered that the agent's old client may drop, to
 * be held until it polls with another credential: a reply carrying
 * connection settings makes the agent switch (its old client stops while the
 * reply is in flight), and so may any reply on the old credential while that
 * switch is under way (`switching`). The offer itself is not held: the server
 * decides it again once the agent is on its new credential.
 */
export function itemsToHold(delivered: readonly PendingReplyItem[], switching: boolean): PendingReplyItem[] {
  const offers = delivered.some((i) => i.message.connectionSettings != null);
  if (!offers && !switching) return [];
  const out: PendingReplyItem[] = [];
  for (const i of delivered) {
    if (i.message.connectionSettings != null) continue;
    const kind = i.kind === 'direct' ? kindOf(i.message) : i.kind;
    if (kind) out.push({ kind, message: i.message });
  }
  return out;
}
