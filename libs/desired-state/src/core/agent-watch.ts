/**
 * Pure parts of WatchAgents: the filter (the ListAgents filters, evaluated on
 * one agent in memory) and the bounded, coalescing queue of one watcher.
 */
import { matchesSelector, type LabelSelector, type Labels } from './selector';

export interface AgentWatchFilter {
  readonly selector: LabelSelector;
  readonly connected?: boolean;
  readonly healthy?: boolean;
  readonly inSync?: boolean;
  /** Reported remote-config statuses to include (any when empty). */
  readonly configStatuses: readonly number[];
}

/** What the filter looks at (the API's view of an agent). */
export interface AgentWatchFacts {
  readonly labels: Labels;
  readonly connected: boolean;
  readonly healthy: boolean | null;
  readonly inSync: boolean;
  readonly remoteConfigStatus: number;
}

/** The ListAgents semantics: healthy filters out agents of unknown health either way (SQL NULL never equals). */
export function matchesWatchFilter(filter: AgentWatchFilter, a: AgentWatchFacts): boolean {
  if (!matchesSelector(filter.selector, a.labels)) return false;
  if (filter.connected !== undefined && a.connected !== filter.connected) return false;
  if (filter.healthy !== undefined && (a.healthy === null || a.healthy !== filter.healthy)) return false;
  if (filter.inSync !== undefined && a.inSync !== filter.inSync) return false;
  if (filter.configStatuses.length > 0 && !filter.configStatuses.includes(a.remoteConfigStatus)) return false;
  return true;
}

/**
 * A FIFO of at most `capacity` distinct keys. Offering a key already queued
 * replaces its value in place (the newer state of the same agent wins, at the
 * older position), so a burst of changes of one agent takes one slot. A new
 * key when full is refused: the caller ends the slow watcher.
 */
export class CoalescingQueue<T> {
  private readonly items = new Map<string, T>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error('capacity must be at least 1');
  }

  get size(): number {
    return this.items.size;
  }

  /** False when the key is new and the queue is full. */
  offer(key: string, value: T): boolean {
    if (this.items.has(key)) {
      this.items.set(key, value);
      return true;
    }
    if (this.items.size >= this.capacity) return false;
    this.items.set(key, value);
    return true;
  }

  poll(): T | undefined {
    const first = this.items.entries().next();
    if (first.done) return undefined;
    this.items.delete(first.value[0]);
    return first.value[1];
  }

  clear(): void {
    this.items.clear();
  }
}
