/**
 * Node's process metrics, registered the same way in every server process
 * (gateway, status-ingest, config-service, the embedded server): prom-client's
 * defaults — CPU, RSS, heap, GC, open files — and the event-loop delay
 * (perf_hooks.monitorEventLoopDelay) as gauges in seconds:
 * nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds over the
 * window since the previous scrape (each scrape starts a new window), and
 * nodejs_eventloop_lag_seconds, one setImmediate's delay at the scrape.
 * Node's histogram skips the first tick after a reset (it only takes its
 * reference time), so a stall that starts within one resolution of a scrape
 * is not seen: scrape no more often than needed (the bench: once a second).
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * The delay histogram's timer, in ms. A blocked loop shows at any resolution
 * (the late timer records the whole stall); 10 ms keeps the idle cost small.
 */
export const EVENT_LOOP_DELAY_RESOLUTION_MS = 10;

/** Once per registry (a second call on the same registry throws: the names are taken). */
export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_DELAY_RESOLUTION_MS });
}
