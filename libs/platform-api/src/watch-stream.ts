/**
 * WatchAgents for both transports: opening a watch (authenticated, counted
 * like every call) and pumping its events into a writable that may push back.
 * The pump writes one event, and when the transport's buffer is full waits
 * for it to drain: meanwhile the watch's own bounded queue fills, and a watch
 * that stays behind is ended by the hub, not by growing buffers here.
 */
import { rejectNulText, type AgentWatch, type AgentWatchEvent, type FleetApiService } from '@opamp/desired-state';
import { rejectUndecodable } from './grpc-request-decoding';

export async function openWatch(api: FleetApiService, rpc: string, authorization: string | undefined, request: Record<string, unknown>): Promise<AgentWatch> {
  try {
    const caller = await api.authenticate(authorization);
    rejectUndecodable(request);
    rejectNulText(request);
    const watch = api.agents.watchAgents(caller, request);
    api.count(undefined, rpc);
    return watch;
  } catch (err) {
    api.count(err, rpc);
    throw err;
  }
}

export interface WatchSink {
  /** Writes one event; false when the transport's buffer is full. */
  write(event: AgentWatchEvent): boolean;
  /** Resolves when the buffer drained or the stream closed. */
  drained(): Promise<void>;
  closed(): boolean;
}

/** Resolves when the watch closed; rejects with the error that ended it (RESOURCE_EXHAUSTED, UNAVAILABLE). */
export async function pumpWatch(watch: AgentWatch, sink: WatchSink): Promise<void> {
  for (;;) {
    const event = await watch.next();
    if (event === null || sink.closed()) return;
    if (!sink.write(event)) await sink.drained();
  }
}
