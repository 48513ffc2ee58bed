/**
 * config-service's pushes (remote config, commands, custom messages,
 * connection settings, refusals), one kind
 * at a time, through the shared AgentPushRouter: the same gateway contract as
 * every other worker (WebSocket: fenced publish; plain HTTP or not connected:
 * pending store plus a wake-up).
 */
import { AgentPushRouter, type GatewayChannels, type PendingItemsSink, type PushDelivery } from '@opamp/contracts';
import type { IServerToAgent } from '@opamp/protocol';

/** fleet.v1.Transport values. */
export const TRANSPORT_WEBSOCKET = 1;
export const TRANSPORT_HTTP = 2;

export type PushKind = 'remote_config' | 'command' | 'custom_message' | 'connection_settings' | 'packages_available' | 'error';

export interface PushTarget {
  readonly connected: boolean;
  readonly gatewayId: string | null;
  readonly connectionId: string;
  readonly epoch: number;
  readonly transport: number;
}

export type Delivery = PushDelivery;

export class AgentPushDispatcher {
  private readonly router: AgentPushRouter;
  /** Pushes made, by `kind/delivery` (delivery: published, pending, failed). */
  readonly sent = new Map<string, number>();

  constructor(channels: GatewayChannels, pending: PendingItemsSink) {
    this.router = new AgentPushRouter(channels, pending);
  }

  /** `traceParent`: the span of the traced work that decided this push (issue 21), carried to the gateway. */
  async push(tenantId: string, instanceUid: Buffer, target: PushTarget, kind: PushKind, message: IServerToAgent, closeAfter = false, traceParent?: string): Promise<Delivery> {
    let delivery: Delivery | 'failed' = 'failed';
    try {
      delivery = await this.router.deliver(tenantId, instanceUid, instanceUid, target, [{ kind, message }], closeAfter, traceParent);
      return delivery;
    } finally {
      const key = `${kind}/${delivery}`;
      this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
    }
  }
}
