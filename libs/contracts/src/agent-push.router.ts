/**
 * How a worker gets a ServerToAgent to an agent (the gateway contract), for
 * every worker alike:
 * - an agent connected over WebSocket: one message on its gateway's channel,
 *   fenced by connection id and epoch (the gateway drops it otherwise);
 * - a plain-HTTP agent, or one not connected now: the agent's pending store
 *   (latest item of each kind), plus a wake-up for a request that may be
 *   waiting on its last gateway.
 * At most once: a lost push is repaired by reconciliation, never retried here.
 * The channels and the store are ports: Redis in the distributed mode, the
 * in-process twins in the embedded one.
 */
import { encodeServerToAgent, type opamp } from '@opamp/protocol';
import { GatewayPushCodec } from './envelope-codec';
import { fleet } from './fleet-schema';

export interface GatewayChannels {
  /** Returns how many gateways received it (0: nobody listens on that channel). */
  publish(gatewayId: string, payload: Buffer): Promise<number>;
}

export interface PendingItemsSink {
  put(tenantId: string, instanceUidHex: string, kind: string, serverToAgent: Buffer): Promise<void>;
}

export interface AgentPushTarget {
  readonly connected: boolean;
  readonly gatewayId: string | null;
  readonly connectionId: string;
  readonly epoch: number;
  /** fleet.v1.Transport */
  readonly transport: number;
}

export interface AgentPushItem {
  /** The pending-store kind: 'remote_config', 'command', 'flags', 'agent_identification', ... */
  kind: string;
  message: opamp.proto.v1.IServerToAgent;
}

export type PushDelivery = 'published' | 'pending';

export class AgentPushRouter {
  constructor(
    private readonly channels: GatewayChannels,
    private readonly pending: PendingItemsSink,
  ) {}

  /**
   * Delivers items to one agent. `instanceUid` is the agent's key (16 bytes);
   * `instanceUidAsSent` is what the agent itself sent, echoed in the message.
   * Over WebSocket the items travel as one message, except a command, which
   * always travels alone.
   */
  async deliver(
    tenantId: string,
    instanceUid: Buffer,
    instanceUidAsSent: Buffer,
    target: AgentPushTarget,
    items: readonly AgentPushItem[],
    /** WebSocket: the gateway closes the connection after writing the last message (a refusal). */
    closeAfter = false,
    /** W3C traceparent of the sender's span when this work is traced: the gateway's delivery continues it. */
    traceParent?: string,
  ): Promise<PushDelivery> {
    const traced = traceParent ? { traceParent } : {};
    if (target.connected && target.gatewayId && target.transport === fleet.v1.Transport.TRANSPORT_WEBSOCKET) {
      const commands = items.filter((i) => i.message.command);
      const rest = items.filter((i) => !i.message.command);
      const messages: opamp.proto.v1.IServerToAgent[] = commands.map((c) => ({ instanceUid: instanceUidAsSent, command: c.message.command }));
      if (rest.length > 0) messages.push(merge(instanceUidAsSent, rest));
      for (const [i, message] of messages.entries()) {
        await this.channels.publish(
          target.gatewayId,
          GatewayPushCodec.encode({
            tenantId,
            instanceUid,
            connectionId: target.connectionId,
            epoch: target.epoch,
            serverToAgent: encodeServerToAgent(message),
            closeAfter: closeAfter && i === messages.length - 1,
            ...traced,
          }),
        );
      }
      return 'published';
    }
    const hex = instanceUid.toString('hex');
    for (const item of items) {
      await this.pending.put(tenantId, hex, item.kind, encodeServerToAgent({ ...item.message, instanceUid: instanceUidAsSent }));
    }
    if (target.gatewayId) {
      await this.channels.publish(
        target.gatewayId,
        GatewayPushCodec.encode({
          tenantId,
          instanceUid,
          connectionId: target.connectionId,
          epoch: target.epoch,
          pendingWakeup: true,
          ...traced,
        }),
      );
    }
    return 'pending';
  }
}

/** One ServerToAgent from several items: flags OR-ed, the later item wins a field. */
function merge(instanceUid: Buffer, items: readonly AgentPushItem[]): opamp.proto.v1.IServerToAgent {
  const merged: opamp.proto.v1.IServerToAgent = { instanceUid };
  let flags = 0;
  for (const { message } of items) {
    for (const [field, value] of Object.entries(message)) {
      if (field === 'instanceUid' || field === 'flags' || value == null) continue;
      (merged as Record<string, unknown>)[field] = value;
    }
    flags |= Number(message.flags ?? 0);
  }
  if (flags !== 0) merged.flags = flags;
  return merged;
}
