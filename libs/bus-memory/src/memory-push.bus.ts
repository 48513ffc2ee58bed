/**
 * Per-gateway push channels, in process: the embedded server's twin of Redis
 * pub/sub. Delivery is synchronous-free (next microtask) and at most once,
 * like the real thing: a gateway that is not listening receives nothing.
 */
export class MemoryPushBus {
  private readonly listeners = new Map<string, (payload: Buffer) => void>();

  /** Returns how many listeners received it (0 or 1), like PUBLISH. */
  async publish(gatewayId: string, payload: Buffer): Promise<number> {
    const listener = this.listeners.get(gatewayId);
    if (!listener) return 0;
    queueMicrotask(() => listener(payload));
    return 1;
  }

  /** The PushInbox of one gateway. */
  inbox(gatewayId: string) {
    return {
      start: async (listener: (payload: Buffer) => void) => {
        this.listeners.set(gatewayId, listener);
      },
      stop: async () => {
        this.listeners.delete(gatewayId);
      },
    };
  }
}
