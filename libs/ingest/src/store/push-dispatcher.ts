/**
 * Delivers status-ingest's coalesced pushes (ReportFullState and similar
 * flags, new instance uids) through the shared AgentPushRouter: the same
 * gateway contract as every other worker. Agents with no known gateway get
 * nothing: they are asked again on their next message.
 */
import { AgentPushRouter, type GatewayChannels, type PendingItemsSink } from '@opamp/contracts';
import type { CoalescedPush } from '../core/push';

export class PushDispatcher {
  private readonly router: AgentPushRouter;

  constructor(channels: GatewayChannels, pending: PendingItemsSink) {
    this.router = new AgentPushRouter(channels, pending);
  }

  async dispatch(pushes: readonly CoalescedPush[]): Promise<void> {
    await Promise.all(
      pushes
        .filter((p) => p.target.gatewayId)
        .map((p) =>
          this.router.deliver(
            p.tenantId,
            p.instanceUid,
            p.instanceUidAsSent,
            { connected: true, ...p.target },
            [...p.byKind].map(([kind, message]) => ({ kind, message })),
          ),
        ),
    );
  }
}
