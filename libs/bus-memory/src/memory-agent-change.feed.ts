/**
 * The agent-change feed in process (the embedded server's twin of the Redis
 * channel): every subscriber gets every notice, on the next microtask, never
 * inside the publisher's call.
 */
import type { AgentChangeFeed, AgentChangeNotice } from '@opamp/contracts';

export class MemoryAgentChangeFeed implements AgentChangeFeed {
  private readonly handlers = new Set<(notice: AgentChangeNotice) => void>();

  async publish(notice: AgentChangeNotice): Promise<void> {
    if (notice.instanceUids.length === 0) return;
    for (const handler of this.handlers) queueMicrotask(() => handler(notice));
  }

  async subscribe(handler: (notice: AgentChangeNotice) => void): Promise<() => Promise<void>> {
    const own = (notice: AgentChangeNotice) => handler(notice);
    this.handlers.add(own);
    return async () => {
      this.handlers.delete(own);
    };
  }
}
