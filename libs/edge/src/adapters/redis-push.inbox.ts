/** PushInbox on Redis pub/sub: this gateway's own channel, on a dedicated connection. */
import { GatewayPushSubscriber } from '@opamp/bus-redis';
import type Redis from 'ioredis';
import type { PushInbox } from '../edge-ports';

export class RedisPushInbox implements PushInbox {
  private subscriber: GatewayPushSubscriber | null = null;

  constructor(
    private readonly connection: Redis,
    private readonly gatewayId: string,
  ) {}

  async start(listener: (payload: Buffer) => void): Promise<void> {
    this.subscriber = new GatewayPushSubscriber(this.connection, this.gatewayId, listener);
    await this.subscriber.start();
  }

  async stop(): Promise<void> {
    await this.subscriber?.stop().catch(() => undefined);
    this.subscriber = null;
  }
}
