/**
 * A running gateway says so in Redis (a key with a short TTL it refreshes),
 * so that others can tell a connection lease left behind by a gateway that
 * died (SIGKILL, a lost node) from one a live gateway holds.
 */
import type Redis from 'ioredis';
import { GATEWAY_PRESENCE_REFRESH_MS, GATEWAY_PRESENCE_TTL_MS, GatewayKeys } from '@opamp/contracts';

export class GatewayPresence {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly gatewayId: string,
    private readonly refreshMs = GATEWAY_PRESENCE_REFRESH_MS,
    private readonly ttlMs = GATEWAY_PRESENCE_TTL_MS,
  ) {}

  async start(onError: (err: unknown) => void = () => undefined): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => this.beat().catch(onError), this.refreshMs);
    this.timer.unref?.();
  }

  /** Ends the presence at once (a graceful stop; a crash lets it expire). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis.del(GatewayKeys.presence(this.gatewayId)).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    await this.redis.set(GatewayKeys.presence(this.gatewayId), '1', 'PX', this.ttlMs);
  }

  static async isPresent(redis: Redis, gatewayId: string): Promise<boolean> {
    return (await redis.exists(GatewayKeys.presence(gatewayId))) === 1;
  }
}
