/**
 * The agent-change feed over Redis pub/sub (RedisChannels.agentChanges):
 * every config-service replica subscribes, so each sees every change for its
 * WatchAgents streams. Chosen over a per-replica Kafka consumer of
 * opamp.agent-events because the reconciler publishes after it has written its
 * decision: one feed carries both agent changes and config-service's own
 * decisions (in sync or not), in the order they reached PostgreSQL, and no
 * replica reads the whole event topic a second time. Pub/sub is at most once:
 * after a reconnect the subscriber reports a gap, and watches end (clients
 * list again).
 */
import type Redis from 'ioredis';
import { AgentChangeNoticeCodec, EnvelopeDecodeError, RedisChannels, type AgentChangeFeed, type AgentChangeNotice } from '@opamp/contracts';

export class RedisAgentChangeFeed implements AgentChangeFeed {
  private readonly channel = RedisChannels.agentChanges();

  /**
   * `subscriber` must be a dedicated connection (a subscribed connection runs no other command);
   * without one the feed only publishes (status-ingest's retention sweep).
   */
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis | null = null,
  ) {}

  async publish(notice: AgentChangeNotice): Promise<void> {
    if (notice.instanceUids.length === 0) return;
    await this.publisher.publish(this.channel, AgentChangeNoticeCodec.encode({ tenantId: notice.tenantId, instanceUids: [...notice.instanceUids] }));
  }

  async subscribe(handler: (notice: AgentChangeNotice) => void, onGap?: () => void): Promise<() => Promise<void>> {
    const subscriber = this.subscriber;
    if (!subscriber) throw new Error('this agent-change feed was made without a subscriber connection: it can only publish');
    const onMessage = (channel: Buffer, message: Buffer): void => {
      if (channel.toString() !== this.channel) return;
      try {
        const n = AgentChangeNoticeCodec.decode(message);
        handler({ tenantId: n.tenantId, instanceUids: n.instanceUids.map((u) => Buffer.from(u)) });
      } catch (err) {
        if (!(err instanceof EnvelopeDecodeError)) throw err;
      }
    };
    // ioredis re-subscribes by itself after a reconnect; what was published meanwhile is lost.
    let connected = true;
    const onClose = (): void => {
      connected = false;
    };
    const onReady = (): void => {
      if (!connected) onGap?.();
      connected = true;
    };
    subscriber.on('messageBuffer', onMessage);
    subscriber.on('close', onClose);
    subscriber.on('ready', onReady);
    await subscriber.subscribe(this.channel);
    return async () => {
      subscriber.off('messageBuffer', onMessage);
      subscriber.off('close', onClose);
      subscriber.off('ready', onReady);
      await subscriber.unsubscribe(this.channel).catch(() => undefined);
    };
  }
}
