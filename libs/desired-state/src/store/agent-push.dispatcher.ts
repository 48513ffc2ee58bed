/**
 * config-service's pushes (remote config, commands, custom messages,
 * connection settings, refusals), one kind
 * at a time, through the shared AgentPushRouter: the same gateway contract as
 * every other worker (WebSocket: fenced publish; plain HTTP or not connected:
 * pending store plus a wake-up).
 *
 * A WebSocket push goes where the agent's connection lease says when the
 * lease is newer than the row the decision was made from: status-ingest
 * publishes an agent's events before it commits the row, so a re-evaluation
 * right after a failover reads the dead gateway's connection while the
 * event of the new one has already been reconciled against the old desired
 * state; sent to the dead gateway's channel, nobody would ever send it
 * again (compose kill -9 run: 85 of 200 agents). One Redis read per push.
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

/** Who holds an agent's connection now (the ConnectionLease; Redis in the distributed mode). */
export interface ConnectionOwners {
  get(tenantId: string, instanceUidHex: string): Promise<{ gatewayId: string; connectionId: string; epoch: number } | null>;
}

/** The target to push to: the lease's connection when it is newer than the target's (else the target). */
export function currentTarget(target: PushTarget, lease: { gatewayId: string; connectionId: string; epoch: number } | null): PushTarget {
  if (!lease || !target.connected || target.transport !== TRANSPORT_WEBSOCKET || lease.epoch <= target.epoch) return target;
  if (lease.gatewayId === target.gatewayId && lease.connectionId === target.connectionId) return target;
  return { ...target, gatewayId: lease.gatewayId, connectionId: lease.connectionId, epoch: lease.epoch };
}

export class AgentPushDispatcher {
  private readonly router: AgentPushRouter;
  /** Pushes made, by `kind/delivery` (delivery: published, pending, failed). */
  readonly sent = new Map<string, number>();
  /** WebSocket pushes sent to the lease's newer connection instead of the row's. */
  rerouted = 0;

  constructor(
    channels: GatewayChannels,
    pending: PendingItemsSink,
    private readonly owners?: ConnectionOwners,
  ) {
    this.router = new AgentPushRouter(channels, pending);
  }

  /** `traceParent`: the span of the traced work that decided this push (issue 21), carried to the gateway. */
  async push(tenantId: string, instanceUid: Buffer, target: PushTarget, kind: PushKind, message: IServerToAgent, closeAfter = false, traceParent?: string): Promise<Delivery> {
    let delivery: Delivery | 'failed' = 'failed';
    try {
      const routed = await this.routed(tenantId, instanceUid, target);
      delivery = await this.router.deliver(tenantId, instanceUid, instanceUid, routed, [{ kind, message }], closeAfter, traceParent);
      return delivery;
    } finally {
      const key = `${kind}/${delivery}`;
      this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
    }
  }

  private async routed(tenantId: string, instanceUid: Buffer, target: PushTarget): Promise<PushTarget> {
    if (!this.owners || !target.connected || target.transport !== TRANSPORT_WEBSOCKET) return target;
    const lease = await this.owners.get(tenantId, instanceUid.toString('hex')).catch(() => null);
    const routed = currentTarget(target, lease);
    if (routed !== target) this.rerouted++;
    return routed;
  }
}
