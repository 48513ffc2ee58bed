/**
 * The feed of agent changes every config-service replica listens to for its
 * WatchAgents streams: "these agents of this tenant changed" (a reconciled
 * agent event, or a reconciler decision), published after the change is in
 * PostgreSQL. At most once: a subscriber told of a gap (a reconnect) must end
 * its watches, whose clients list again. Adapters: Redis pub/sub
 * (RedisChannels.agentChanges) and the in-process twin.
 */
export interface AgentChangeNotice {
  readonly tenantId: string;
  readonly instanceUids: readonly Buffer[];
}

export interface AgentChangeFeed {
  publish(notice: AgentChangeNotice): Promise<void>;
  /** Resolves once subscribed; the result unsubscribes. `onGap`: notices may have been lost. */
  subscribe(handler: (notice: AgentChangeNotice) => void, onGap?: () => void): Promise<() => Promise<void>>;
}
