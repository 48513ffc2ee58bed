/**
 * Delivers coalesced pushes to the gateway that owns the agent's connection,
 * following the gateway contract: WS gets the ServerToAgent on the gateway's
 * channel, fenced by connection id and epoch; plain HTTP gets it in the
 * agent's pending store (latest per kind) plus a wake-up for a request that
 * may still be waiting on that gateway. At most once: a lost push is repaired
 * by the agent's next message or connection.
 */
import { GatewayPushCodec } from '@opamp/contracts';
import type { GatewayPushPublisher, PendingPushStore } from '@opamp/bus-redis';
import { encodeServerToAgent } from '@opamp/protocol';
import { Transport } from '../core/agent-state';
import { mergeKinds, type CoalescedPush } from '../core/push';

export class PushDispatcher {
  constructor(
    private readonly publisher: GatewayPushPublisher,
    private readonly pending: PendingPushStore,
  ) {}

  async dispatch(pushes: readonly CoalescedPush[]): Promise<void> {
    await Promise.all(pushes.map((p) => this.deliver(p)));
  }

  private async deliver(p: CoalescedPush): Promise<void> {
    const { target } = p;
    if (!target.gatewayId) return;
    if (target.transport === Transport.TRANSPORT_HTTP) {
      const hex = p.instanceUid.toString('hex');
      for (const [kind, message] of p.byKind) await this.pending.put(p.tenantId, hex, kind, encodeServerToAgent(message));
      await this.publisher.publish(
        target.gatewayId,
        GatewayPushCodec.encode({
          tenantId: p.tenantId,
          instanceUid: p.instanceUidAsSent,
          connectionId: target.connectionId,
          epoch: target.epoch,
          pendingWakeup: true,
        }),
      );
      return;
    }
    await this.publisher.publish(
      target.gatewayId,
      GatewayPushCodec.encode({
        tenantId: p.tenantId,
        instanceUid: p.instanceUidAsSent,
        connectionId: target.connectionId,
        epoch: target.epoch,
        serverToAgent: encodeServerToAgent(mergeKinds(p)),
      }),
    );
  }
}
