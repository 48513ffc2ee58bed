/**
 * A running gateway says so in Redis (a key with a short TTL it refreshes),
 * so that others can tell a connection lease left behind by a gateway that
 * died (SIGKILL, a lost node) from one a live gateway holds. The value is when
 * this process started (ms): a gateway restarted under the same id (the Helm
 * chart's pod name survives a container restart) is present again within
 * seconds, and a lease older than its start was left by the process that died.
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
    private readonly startedAtMs = Date.now(),
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
    await this.redis.set(GatewayKeys.presence(this.gatewayId), String(this.startedAtMs), 'PX', this.ttlMs);
  }

  static async isPresent(redis: Redis, gatewayId: string): Promise<boolean> {
    return (await GatewayPresence.presentSince(redis, gatewayId)) !== null;
  }

  /** When the present process of this gateway started (ms), null when none is present; 0 when it does not say. */
  static async presentSince(redis: Redis, gatewayId: string): Promise<number | null> {
    const value = await redis.get(GatewayKeys.presence(gatewayId));
    if (value === null) return null;
    const ms = Number(value);
    // An older gateway writes '1': it is present, since when is unknown.
    return Number.isSafeInteger(ms) && ms > 1 ? ms : 0;
  }
}
