/**
 * Delivers one ServerToAgent to the gateway that owns the agent, following the
 * gateway contract: a WebSocket connection gets it on its gateway's Redis
 * channel, fenced by connection id and epoch; a plain-HTTP agent (or one not
 * connected now) gets it in its pending store, latest item per kind, plus a
 * wake-up for a request that may be waiting on its last gateway. At most once:
 * a lost push is repaired by the agent's next event, never by retries here.
 * (Same behaviour as libs/ingest push-dispatcher; to be unified in a shared lib.)
 */
import { GatewayPushCodec } from '@opamp/contracts';
import type { GatewayPushPublisher, PendingPushStore } from '@opamp/bus-redis';
import { encodeServerToAgent, type IServerToAgent } from '@opamp/protocol';

/** fleet.v1.Transport values. */
export const TRANSPORT_WEBSOCKET = 1;
export const TRANSPORT_HTTP = 2;

export type PushKind = 'remote_config' | 'command' | 'custom_message';

export interface PushTarget {
  readonly connected: boolean;
  readonly gatewayId: string | null;
  readonly connectionId: string;
  readonly epoch: number;
  readonly transport: number;
}

export type Delivery = 'published' | 'pending';

export class AgentPushDispatcher {
  constructor(
    private readonly publisher: GatewayPushPublisher,
    private readonly pending: PendingPushStore,
  ) {}

  async push(tenantId: string, instanceUid: Buffer, target: PushTarget, kind: PushKind, message: IServerToAgent): Promise<Delivery> {
    const bytes = encodeServerToAgent({ ...message, instanceUid });
    if (target.connected && target.gatewayId && target.transport === TRANSPORT_WEBSOCKET) {
      await this.publisher.publish(
        target.gatewayId,
        GatewayPushCodec.encode({
          tenantId,
          instanceUid,
          connectionId: target.connectionId,
          epoch: target.epoch,
          serverToAgent: bytes,
        }),
      );
      return 'published';
    }
    await this.pending.put(tenantId, instanceUid.toString('hex'), kind, bytes);
    if (target.gatewayId) {
      await this.publisher.publish(
        target.gatewayId,
        GatewayPushCodec.encode({
          tenantId,
          instanceUid,
          connectionId: target.connectionId,
          epoch: target.epoch,
          pendingWakeup: true,
        }),
      );
    }
    return 'pending';
  }
}
