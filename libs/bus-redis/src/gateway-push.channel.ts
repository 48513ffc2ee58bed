/**
 * Pushes to the gateway that owns a connection, over that gateway's own Redis
 * channel (one channel per gateway, not per agent). Delivery is at most once:
 * a lost push is repaired by the next reconciliation, never by retries here.
 */
import type Redis from 'ioredis';
import { RedisChannels } from '@opamp/contracts';

export class GatewayPushPublisher {
  constructor(private readonly redis: Redis) {}

  /** Returns how many subscribers received it; 0 means the gateway is gone. */
  async publish(gatewayId: string, payload: Buffer): Promise<number> {
    return this.redis.publish(RedisChannels.gatewayPush(gatewayId), payload);
  }
}

export type PushListener = (payload: Buffer) => void;

/**
 * The gateway side. Needs a dedicated connection: a subscribed Redis
 * connection cannot run other commands.
 */
export class GatewayPushSubscriber {
  private readonly channel: string;

  constructor(
    private readonly subscriber: Redis,
    gatewayId: string,
    private readonly listener: PushListener,
  ) {
    this.channel = RedisChannels.gatewayPush(gatewayId);
  }

  async start(): Promise<void> {
    this.subscriber.on('messageBuffer', this.onMessage);
    await this.subscriber.subscribe(this.channel);
  }

  async stop(): Promise<void> {
    this.subscriber.off('messageBuffer', this.onMessage);
    await this.subscriber.unsubscribe(this.channel);
  }

  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (channel.toString() === this.channel) this.listener(message);
  };
}
