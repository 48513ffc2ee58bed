/** PeerGateways on Redis pub/sub: publishes on another gateway's own channel. */
import { GatewayPushPublisher } from '@opamp/bus-redis';
import type Redis from 'ioredis';
import type { PeerGateways } from '../edge-ports';

export class RedisPeerGateways implements PeerGateways {
  private readonly publisher: GatewayPushPublisher;

  constructor(redis: Redis) {
    this.publisher = new GatewayPushPublisher(redis);
  }

  publish(gatewayId: string, payload: Buffer): Promise<number> {
    return this.publisher.publish(gatewayId, payload);
  }
}
